"""Inter-judge agreement: coefficients, rating files, the agreement report.

``coefficients`` holds the pure coefficient functions, ``ratings`` reads rating
files and records, ``report`` builds the contract's report dict, ``render``
turns it into a terminal table, CSV, Markdown or HTML.
"""

from transcode.agreement.coefficients import (
    COEFFICIENT_NAMES,
    PERCENT_AGREEMENT_DEFINITION,
    Estimate,
    coefficient,
    cohen_kappa,
    fleiss_kappa,
    gwet_ac1,
    gwet_ac2,
    krippendorff_alpha,
    krippendorff_alpha_distance,
    masi_alpha,
    masi_distance,
    percent_agreement,
    scott_pi,
)
from transcode.agreement.ratings import (
    Ratings,
    Values,
    ratings_from_records,
    read_ratings_csv,
    read_values_csv,
)
from transcode.agreement.report import agreement_report, full_report

__all__ = [
    "COEFFICIENT_NAMES",
    "PERCENT_AGREEMENT_DEFINITION",
    "Estimate",
    "Ratings",
    "Values",
    "agreement_report",
    "coefficient",
    "cohen_kappa",
    "fleiss_kappa",
    "full_report",
    "gwet_ac1",
    "gwet_ac2",
    "krippendorff_alpha",
    "krippendorff_alpha_distance",
    "masi_alpha",
    "masi_distance",
    "percent_agreement",
    "ratings_from_records",
    "read_ratings_csv",
    "read_values_csv",
    "scott_pi",
]
