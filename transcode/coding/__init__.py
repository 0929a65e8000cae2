"""The coding room without a user interface: blind independent coding, consensus and the audit.

- :mod:`~transcode.coding.codes`: the rules of a judge's decision log (pure);
- :mod:`~transcode.coding.queue`: the units to code and the model's stored proposals;
- :mod:`~transcode.coding.independent`: one judge coding blind (:class:`CodingSession`);
- :mod:`~transcode.coding.consensus`: the team settling disagreements (:class:`ConsensusSession`);
- :mod:`~transcode.coding.audit`: auditors' comments and the team's answers (:class:`AuditSession`).

Each function that writes is one transaction, committed before it returns, so
whatever a screen shows as saved survives a killed process.
"""
