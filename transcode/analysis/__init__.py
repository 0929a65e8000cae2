"""The analysis after domaining: core ideas per case x domain, then categories across cases.

- :mod:`~transcode.analysis.core_ideas`: versioned core ideas, machine drafts, consensus wording;
- :mod:`~transcode.analysis.categories`: the category tree per domain and the core ideas in it;
- :mod:`~transcode.analysis.drafts`: extractive machine drafts of a core idea (pure);
- :mod:`~transcode.analysis.clustering`: proposed categories from clustered core ideas (pure);
- :mod:`~transcode.analysis.schemes`: category scheme files.

The cross-analysis (:mod:`transcode.cross`) then counts the cases in each category.
"""
