"""CQR cross-analysis: frequency labels, subgroup comparisons, the results table and its check.

The core takes plain data (memberships and cases), so the CSV command and the
project store share it.
"""

from transcode.cross.analysis import Comparison, CrossOptions, Membership, cross_analysis, stability_check
from transcode.cross.consistency import Disagreement, check_table
from transcode.cross.labels import Profile, custom_profile, label_full, label_subgroup, meaningful

__all__ = [
    "Comparison",
    "CrossOptions",
    "Disagreement",
    "Membership",
    "Profile",
    "check_table",
    "cross_analysis",
    "custom_profile",
    "label_full",
    "label_subgroup",
    "meaningful",
    "stability_check",
]
