"""Pages and services that compose people with their clients: the team page, refusal decisions, dismissal with handover."""
