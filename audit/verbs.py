"""The audit log's verbs, one spelling each (the console shows them as written: "demo paused ...")."""

PUBLISHED = "published"
AGENT_CREATED = "created the agent"
VERSION_EDITED = "edited the draft"
ROLLED_BACK = "rolled back"
CAMPAIGN_CREATED = "created"
CAMPAIGN_EDITED = "edited"
STARTED = "started"
PAUSED = "paused"
RESUMED = "resumed"
STOPPED = "stopped"
LEADS_IMPORTED = "imported leads"
LEADS_ADDED = "added leads"
LEAD_EDITED = "edited the lead"
DO_NOT_CALL = "marked do-not-call"
HUNG_UP = "hung up"
PROMOTED = "stopped and promoted"
ANALYSIS_RERUN = "re-ran the analysis"

# campaign_control's actions and experiments' transitions, as verbs.
CONTROL_VERBS = {"start": STARTED, "pause": PAUSED, "resume": RESUMED, "stop": STOPPED}
