"""The audit log's verbs, one spelling each (the console shows them as written: "demo paused ...")."""

PUBLISHED = "published"
ROLLED_BACK = "rolled back"
CAMPAIGN_CREATED = "created"
CAMPAIGN_EDITED = "edited"
STARTED = "started"
PAUSED = "paused"
RESUMED = "resumed"
STOPPED = "stopped"
LEADS_IMPORTED = "imported leads"
LEAD_EDITED = "edited the lead"
DO_NOT_CALL = "marked do-not-call"
HUNG_UP = "hung up"
TRANSFERRED = "transferred"
SAID_NEXT = "had the agent say"
LISTENED_IN = "listened in on"
TEST_CALLED = "placed a browser test call"
SIMULATED_CALLER = "ran a simulated caller"
PROMOTED = "stopped and promoted"

# campaign_control's actions and experiments' transitions, as verbs.
CONTROL_VERBS = {"start": STARTED, "pause": PAUSED, "resume": RESUMED, "stop": STOPPED}
