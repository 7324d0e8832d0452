"""A person's record page, its FHIR export, family invites and handovers."""
