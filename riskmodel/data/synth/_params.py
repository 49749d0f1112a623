"""Parameters of the synthetic council and the published figures they are calibrated to.

Every number here is either a published figure (``TARGETS``, from
``docs/synthetic-council.md`` and the councils' reports), an assumption stated
beside it, or a value tuned so that the generated council reproduces the
targets (marked *tuned*). ``docs/synthetic-council.md`` maps each parameter to
the figure it comes from.
"""

from __future__ import annotations

from types import MappingProxyType

# ------------------------------------------------------------------ published targets ----------
# Walsall early help case review (2016): 892 children in 502 families.
TARGET_CHILDREN_PER_FAMILY = 892 / 502
TARGET_ACE_BANDS = {"0": 0.15, "1": 0.27, "2-3": 0.375, "4+": 0.205}
TARGET_AGE_BANDS = {
    "unborn": 0.003, "0-4": 0.354, "5-7": 0.203, "8-11": 0.194, "12-15": 0.172, "16+": 0.074,
}
# Emotional abuse and neglect are stated; the source garbles which of domestic abuse, mental
# illness and separation takes 71.4%, 36% and 31%. A records check found 43% had lived with
# domestic abuse, so 71.4% cannot be domestic abuse: we assume separation 71.4%, domestic
# abuse 36%, mental illness 31%.
TARGET_ACE_PREVALENCE = {
    "emotional_abuse": 0.19, "emotional_neglect": 0.221, "parental_separation": 0.714,
    "domestic_abuse": 0.36, "mental_illness": 0.31,
}
TARGET_TOP_NEEDS = {
    "parenting": 329 / 892, "adult_mental_health": 307 / 892, "behaviour": 292 / 892,
    "domestic_abuse": 291 / 892, "housing": 275 / 892,
}
# Warwickshire (2020): early help pathway closures 53/15/28/3/2 (sums to 101; normalised).
TARGET_CLOSURE = {
    "early_help_pathway": {
        "positive": 53 / 101, "escalated": 15 / 101, "disengaged_or_declined": 28 / 101,
        "transferred": 3 / 101, "relocated": 2 / 101,
    },
    "targeted_support": {"positive": 0.70, "escalated": 0.17, "disengaged_or_declined": 0.11},
    "fsw_intervention": {"positive": 0.74, "escalated": 0.04, "disengaged_or_declined": 0.15},
}
TARGET_FSW_WEEKS = 18.0
# Wolverhampton (2018): early help assessments by initiating agency (4,467).
TARGET_INITIATING = {"la": 0.8545, "school": 0.1256, "voluntary": 0.0184, "health": 0.0016}
# Wolverhampton (2018): of cases worked over 16 months, 65% closed and about 10% escalated.
TARGET_FLOW = {"closed": 0.65, "escalated": 0.10}
TOLERANCE_PP = 0.03

# ------------------------------------------------------------------ population -----------------
# Wolverhampton's eight localities (2018 report); Wednesfield and Whitmore Reans carry the
# highest demand. weight = share of families (assumed), demand = multiplier of contact rates
# (tuned so those two are the busiest), pace = multiplier of early-help closure hazards
# (busier localities close cases faster and step up more, as the report found).
LOCALITIES = ("Wednesfield", "Whitmore Reans", "Bilston", "Low Hill", "Eastfield", "Graiseley",
              "Bingley", "Dove")
LOCALITY_WEIGHT = (0.15, 0.15, 0.13, 0.12, 0.12, 0.11, 0.11, 0.11)
LOCALITY_DEMAND = (1.30, 1.25, 1.05, 1.05, 1.00, 0.95, 0.90, 0.85)
LOCALITY_PACE = (1.15, 1.12, 1.02, 1.02, 1.00, 0.96, 0.93, 0.90)
# Deprivation shift of each locality (negative = more deprived): assumed.
LOCALITY_DEPRIVATION = (-0.4, -0.5, -0.3, -0.4, 0.0, 0.1, 0.3, 0.4)

# Ethnicity (ONS 2021 high-level groups), per family: Wolverhampton, Census 2021 — white 61%,
# asian 21%, black 9%, mixed and other 8% (split 5/3, assumed) — with 1% not recorded.
ETHNICITY_WEIGHT = {"white": 0.60, "asian": 0.21, "black": 0.09, "mixed": 0.06, "other": 0.03,
                    "unknown": 0.01}
SEX_WEIGHT = {"female": 0.49, "male": 0.505, "unknown": 0.005}
# DfE "Special educational needs in England" (2024): about 13% SEN support, 4-5% EHC plans.
DISABILITY_WEIGHT = {"none": 0.83, "sen_support": 0.13, "ehcp": 0.04}
IMD_MISSING = 0.02

# Children per family in the whole population (tuned so early-help families average 1.78).
FAMILY_SIZE_WEIGHT = (0.438, 0.2533, 0.1465, 0.0847, 0.049, 0.0284)  # 1..6 children
SIBLING_GAP_DAYS = (365, 1460)  # uniform gap between consecutive siblings

# ------------------------------------------------------------------ ACEs -----------------------
HOUSEHOLD_ACES = ("domestic_abuse", "substance_misuse", "mental_illness", "parental_separation",
                  "incarceration")
CHILD_ACES = ("physical_abuse", "sexual_abuse", "emotional_abuse", "physical_neglect",
              "emotional_neglect")
# Logit intercepts (tuned to the Walsall prevalences among early-help children) and the slope on
# the family's latent need (tuned to the spread of ACE counts).
ACE_INTERCEPT = MappingProxyType({
    "physical_abuse": -4.081, "sexual_abuse": -4.981, "emotional_abuse": -2.6,
    "physical_neglect": -3.881, "emotional_neglect": -2.369, "domestic_abuse": -1.471,
    "substance_misuse": -3.581, "mental_illness": -1.805, "parental_separation": 0.574,
    "incarceration": -4.181,
})
ACE_LATENT_SLOPE = 1.647
# Parental separation is common at every level of need (assumed), so it depends less on it.
ACE_SLOPE_SCALE = MappingProxyType({"parental_separation": 0.7})
# Probability that an ACE is disclosed at each successive contact (then at the early-help
# assessment, 14-42 days after an episode starts, for any not yet recorded).
ACE_DISCLOSE_P = 0.6

# ------------------------------------------------------------------ contacts -------------------
# Household events reach every child of the family (born, or unborn within 180 days of birth);
# child events reach one child. Rates are per year before the multipliers.
HOUSEHOLD_RATE = 0.75
CHILD_RATE = 0.55
RATE_LATENT = 0.55      # log-rate per SD of latent need
RATE_ACE = 0.22         # log-rate per ACE
AGE_BANDS = ("unborn", "0-4", "5-7", "8-11", "12-15", "16+")
AGE_BAND_START = (-1, 0, 5, 8, 12, 16)  # whole years (unborn = before birth)
CHILD_RATE_AGE = (0.0, 0.7, 1.0, 1.1, 1.4, 1.0)
DISABILITY_RATE = {"none": 1.0, "sen_support": 1.35, "ehcp": 1.6}

HOUSEHOLD_NEEDS = ("parenting", "adult_mental_health", "domestic_abuse", "housing",
                   "substance_misuse", "neglect", "financial")
CHILD_NEEDS = ("behaviour", "child_mental_health", "exploitation", "school_attendance", "other")
# Base weights of each need (tuned to the Walsall top five) and the ACE that raises it.
NEED_WEIGHT = MappingProxyType({
    "parenting": 4.4234, "adult_mental_health": 2.5684, "domestic_abuse": 2.3465,
    "housing": 3.5085, "substance_misuse": 0.3, "neglect": 0.5, "financial": 0.35,
    "behaviour": 0.2913, "child_mental_health": 0.45, "exploitation": 0.12,
    "school_attendance": 0.4, "other": 0.06,
})
NEED_ACE = MappingProxyType({
    "adult_mental_health": "mental_illness", "domestic_abuse": "domestic_abuse",
    "substance_misuse": "substance_misuse", "neglect": "physical_neglect",
    "behaviour": "emotional_abuse",
})
NEED_ACE_LOGMULT = 1.4
# Youngest whole-year age at which a child need can arise.
NEED_MIN_AGE = MappingProxyType({"behaviour": 3, "child_mental_health": 7, "exploitation": 10,
                                 "school_attendance": 5, "other": 0})

# P(source | need); rows need not be normalised.
SOURCE_GIVEN_NEED = MappingProxyType({
    "parenting": {"la": 0.45, "health": 0.22, "school": 0.15, "voluntary": 0.08, "family": 0.06,
                  "other": 0.04},
    "adult_mental_health": {"la": 0.38, "health": 0.38, "police": 0.12, "voluntary": 0.07,
                            "other": 0.05},
    "domestic_abuse": {"police": 0.55, "la": 0.28, "health": 0.07, "school": 0.06,
                       "voluntary": 0.04},
    "housing": {"la": 0.50, "housing": 0.35, "voluntary": 0.10, "other": 0.05},
    "substance_misuse": {"police": 0.30, "la": 0.35, "health": 0.25, "voluntary": 0.10},
    "neglect": {"la": 0.40, "health": 0.25, "school": 0.20, "police": 0.10, "other": 0.05},
    "financial": {"la": 0.55, "voluntary": 0.25, "housing": 0.15, "other": 0.05},
    "behaviour": {"school": 0.45, "la": 0.25, "police": 0.15, "family": 0.10, "other": 0.05},
    "child_mental_health": {"school": 0.30, "health": 0.35, "la": 0.25, "family": 0.10},
    "exploitation": {"police": 0.45, "la": 0.25, "youth_justice": 0.20, "school": 0.10},
    "school_attendance": {"school": 0.70, "la": 0.30},
    "other": {"la": 0.40, "other": 0.30, "school": 0.15, "health": 0.15},
})
# Recording lag (days): mostly 0-3, a few long ones.
LONG_LAG_SHARE = 0.03

# ------------------------------------------------------------------ front door -----------------
# P(contact leads to early help) = source x need x age multipliers (tuned to the Wolverhampton
# initiating-agency shares, the Walsall needs and ages); P(direct social care) = source x need.
EH_SOURCE = MappingProxyType({
    "la": 0.17166, "school": 0.03866, "voluntary": 0.03305, "health": 0.00078,
})
EH_NEED: MappingProxyType[str, float] = MappingProxyType({})  # default 1.0
EH_AGE = (0.1497, 1.326, 1.2245, 0.8118, 0.6698, 0.9057)  # by AGE_BANDS, tuned
SC_SOURCE = MappingProxyType({"police": 0.02, "health": 0.015, "la": 0.02, "school": 0.008,
                              "youth_justice": 0.015})
SC_NEED = MappingProxyType({"domestic_abuse": 2.0, "neglect": 2.5, "exploitation": 2.0,
                            "substance_misuse": 1.5})
SC_NEED_DEFAULT = 0.5
EH_START_DELAY = (1, 21)     # days after the referral contact is recorded (uniform)
SC_START_DELAY = (1, 5)
# After an early-help episode closes without escalation the case stays stepped down to
# universal services for a year (so that no other path to social care can fall inside a
# 12-month label window; see DESIGN.md "Outcomes").
LOCKOUT_DAYS = 367

# ------------------------------------------------------------------ early-help episodes --------
CAUSES = ("positive", "escalated", "disengaged", "transferred", "relocated")
# Log cause-specific hazard intercepts by service (tuned to the Warwickshire closure shares).
CAUSE_INTERCEPT = MappingProxyType({
    "early_help_pathway": (0.262, -2.392, -1.08, -2.648, -3.018),
    "targeted_support": (1.014, -4.61, -2.186, -3.9, -3.9),
    "fsw_intervention": (-0.016, -5.934, -2.649, -3.1, -3.1),
})
# Weibull duration shape and scale (days) by service; FSW tuned to ~18 weeks on average.
DURATION_SHAPE = 1.6
DURATION_SCALE = MappingProxyType({
    "early_help_pathway": 642.4, "targeted_support": 743.9, "fsw_intervention": 174.2,
})
DECLINED_WITHIN_DAYS = 42  # a disengagement this early is recorded as "declined"

# Severity at the start (observable terms plus noise) sets triage and service.
SEVERITY_NOISE = 0.8
TRIAGE_CUTS = (0.35, 0.9, 1.7)  # blue | green | yellow | orange
SERVICE_GIVEN_TRIAGE = MappingProxyType({
    "blue": {"early_help_pathway": 0.95, "fsw_intervention": 0.05},
    "green": {"early_help_pathway": 0.85, "fsw_intervention": 0.15},
    "yellow": {"early_help_pathway": 0.55, "fsw_intervention": 0.40, "targeted_support": 0.05},
    "orange": {"targeted_support": 0.70, "fsw_intervention": 0.20, "early_help_pathway": 0.10},
})

# The drivers of each outcome: (name, coefficient on the log cause-specific hazard, cap, what it
# uses, the features that observe it, closest first; None = not recorded). The manifest lists
# them strongest first by |coefficient| x spread over the council's episodes.
ESCALATION_DRIVERS = (
    ("ace_toxictrio", 0.7, 3, "toxic-trio ACE factors recorded before the start",
     ("ace_toxictrio_all_count",)),
    ("contacts_police_12m", 0.45, 4,
     "police contacts recorded in the 12 months before the start",
     ("episodes_current_source_police_12m_count", "contacts_source_police_12m_count")),
    ("contacts_neglect_12m", 0.6, 3,
     "neglect contacts recorded in the 12 months before the start",
     ("episodes_current_need_neglect_12m_count", "contacts_need_neglect_12m_count")),
    ("age_under_1", 0.9, 1, "under one year old (or unborn) at the start",
     ("child_age_all_years", "child_unborn_all_flag")),
    ("triage_orange", 0.65, 1, "triage orange at the start",
     ("episodes_current_all_triage",)),
    ("prior_disengaged", 0.45, 2, "earlier early-help closures disengaged or declined",
     ("episodes_prior_disengaged_all_count",)),
    ("contacts_domestic_abuse_12m", 0.26, 3,
     "domestic abuse contacts recorded in the 12 months before the start",
     ("episodes_current_need_domestic_abuse_12m_count",
      "contacts_need_domestic_abuse_12m_count")),
    ("ace_other", 0.16, 7, "other ACE factors recorded before the start",
     ("ace_total_all_count",)),
    ("locality_demand", 0.78, None, "the locality's demand (log of its contact-rate multiplier)",
     ("demand_locality_12m_contactrate", "demand_locality_12m_stepuprate")),
    ("latent", 0.12, None, "unrecorded latent need (standard normal)", None),
)
DISENGAGEMENT_DRIVERS = (
    ("prior_disengaged", 0.96, 2, "earlier early-help closures disengaged or declined",
     ("episodes_prior_disengaged_all_count",)),
    ("age_12_plus", 0.72, 1, "aged 12 or over at the start", ("child_age_all_years",)),
    ("contacts_school_12m", 0.3, 4,
     "school contacts recorded in the 12 months before the start",
     ("episodes_current_source_school_12m_count", "contacts_source_school_12m_count")),
    ("contacts_substance_misuse_12m", 0.48, 2,
     "substance misuse contacts recorded in the 12 months before the start",
     ("episodes_current_need_substance_misuse_12m_count",
      "contacts_need_substance_misuse_12m_count")),
    ("age_16_plus", 0.48, 1, "aged 16 or over at the start", ("child_age_all_years",)),
    ("imd_deprived", 0.3, None, "deprivation: (5.5 - IMD decile) / 4.5, 0 when unknown",
     ("demand_imd_all_decile",)),
    ("latent", 0.08, None, "unrecorded latent need (standard normal)", None),
)

# ------------------------------------------------------------------ social care ----------------
# Social-care service after an escalated closure, and straight from the front door (assumed).
SC_SERVICE_ON_ESCALATION = {"cin": 0.55, "cp": 0.30, "lac": 0.15}
SC_SERVICE_DIRECT = {"cin": 0.60, "cp": 0.30, "lac": 0.10}
SC_MEDIAN_DAYS = {"cin": 200.0, "cp": 300.0, "lac": 600.0}
SC_DURATION_SIGMA = 0.6
SC_CLOSURE = {"needs_met": 0.85, "transferred": 0.15}

# ------------------------------------------------------------------ knowledge dates -----------
# When a value that is filled in later was recorded, in days after what it dates: bands of
# (share, first day, last day), uniform within a band. All assumed (no published figure): a
# MASH rating or contact outcome is mostly entered the same or the next day, some wait days to
# weeks (a manager's sign-off, a strategy discussion). The outcome is entered on or after the
# rating (its delay is the larger of the rating's and its own draw), and a contact that led to
# an episode has its rating and outcome entered by the day before the episode starts. Nothing is
# dated after the extract: a delay that would run past it is cut to the extract date.
RATING_DELAY = ((0.45, 0, 0), (0.15, 1, 1), (0.30, 2, 14), (0.10, 15, 60))
OUTCOME_DELAY = ((0.45, 0, 0), (0.15, 1, 1), (0.30, 2, 14), (0.10, 15, 60))
# Backdated episodes (assumed): the day an episode was entered after its start date. Social care
# more often and later: a child-in-need episode is dated to the referral but entered once the
# assessment says so. Never after the episode's end or the extract.
EH_START_RECORDED_DELAY = ((0.75, 0, 0), (0.18, 1, 14), (0.07, 15, 42))
SC_START_RECORDED_DELAY = ((0.40, 0, 0), (0.30, 1, 14), (0.30, 15, 60))
# The triage level at the start, entered after the episode (assumed): mostly the same day.
TRIAGE_RECORDED_DELAY = ((0.85, 0, 0), (0.10, 1, 7), (0.05, 8, 28))

# Moves between localities (assumed). A family moves only after every early-help episode of its
# children has closed (and after each child was first recorded), so every hazard of the
# simulation saw the locality and IMD decile of the family's first history row. A family whose
# child stepped up to social care moves with MOVE_AFTER_STEP_UP probability, MOVE_STEP_UP_DELAY
# days after its last early-help closure (rehoused, children placed away), to a locality drawn
# with weights tilted towards deprivation (x exp(-MOVE_REHOUSED_TILT x LOCALITY_DEPRIVATION))
# and an IMD decile shifted MOVE_REHOUSED_IMD_SHIFT (on the normal scale) towards deprivation;
# every family also moves at MOVE_RATE_OTHER a year to a locality drawn by LOCALITY_WEIGHT. The
# new IMD decile keeps the family's place in the deprivation distribution, shifted by the
# localities' difference, plus noise (MOVE_IMD_NOISE). Moves dated after the extract are not
# seen; nor are moves once the youngest child is 18.
MOVE_AFTER_STEP_UP = 0.4
MOVE_STEP_UP_DELAY = (14, 365)
MOVE_RATE_OTHER = 0.015
MOVE_REHOUSED_TILT = 1.5
MOVE_REHOUSED_IMD_SHIFT = -0.5
MOVE_IMD_NOISE = 0.4

# Children per chunk (fixed, so that the same seed gives the same bytes at any size).
CHUNK_CHILDREN = 100_000
