"""Published worked examples of agreement coefficients, used by the reference tests and the CLI tests."""

# Krippendorff (2011) "Computing Krippendorff's Alpha-Reliability", sec. C (= Krippendorff 2004,
# Content Analysis 2nd ed. p.230): 4 observers x 12 units, None = missing; unit 12 is unpairable.
KRIPPENDORFF_2011 = [
    [1, 1, None, 1],
    [2, 2, 3, 2],
    [3, 3, 3, 3],
    [3, 3, 3, 3],
    [2, 2, 2, 2],
    [1, 2, 3, 4],
    [4, 4, 4, 4],
    [1, 1, 2, 1],
    [2, 2, 2, 2],
    [None, 5, 5, 5],
    [None, None, 1, 1],
    [None, 3, None, None],
]
