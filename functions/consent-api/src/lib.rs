//! consent-api: the consent and data-subject-rights API for businesses (issue #5).
