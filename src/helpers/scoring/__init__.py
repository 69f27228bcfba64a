"""Scoring: predictions and their scores with intervals (`evaluation`), scores by person and by
age band (`grouped`), and the course's models against an off-the-shelf package (`compare`)."""
