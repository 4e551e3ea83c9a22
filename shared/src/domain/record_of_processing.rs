//! The record of processing activities (GDPR Art. 30) of one business on Mizan, derived from the
//! code: every retention category the purge enforces (with the tenant's own settings applied),
//! every kind of record the store writes mapped to its category, the recipients the
//! configuration names, and the security measures the code applies. Nothing here is
//! hand-written per tenant, so the record cannot drift from what the system does.

use crate::domain::retention::{Category, RetentionPolicy};
use crate::domain::tenant::Tenant;
use crate::domain::time::Timestamp;
use serde::Serialize;
use std::time::Duration;

/// What the record needs besides the tenant: how this deployment is configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deployment {
    /// `aws` with its region, or the embedded backend (one server's disk).
    pub storage: Storage,
    /// The host of the model provider (`MIZAN_AI_BASE_URL`), when a model writes the answers.
    pub model_provider: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Storage {
    Aws { region: String },
    Embedded,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Party {
    pub name: String,
    pub role: &'static str,
}

/// One category of personal data (or of records about it) and how long it is kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DataCategory {
    /// The category's code in the retention policy (`chat`, `meta`, …).
    pub code: &'static str,
    pub name: &'static str,
    pub holds: &'static str,
    pub subjects: &'static str,
    /// Days kept after `counted_from` (0: removed at once).
    pub retention_days: u64,
    pub counted_from: &'static str,
    pub personal: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Recipient {
    pub name: String,
    pub receives: &'static str,
    pub why: &'static str,
    pub location: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordOfProcessing {
    pub generated_at: String,
    pub controller: Party,
    pub processor: Party,
    pub purposes: Vec<&'static str>,
    pub data_subjects: Vec<&'static str>,
    pub categories: Vec<DataCategory>,
    pub recipients: Vec<Recipient>,
    pub transfers: Vec<String>,
    pub security_measures: Vec<&'static str>,
}

/// What a category holds, whose data it is, and what its period counts from.
fn describe(category: Category) -> (&'static str, &'static str, &'static str, &'static str, bool) {
    match category {
        Category::ChatContent => (
            "Message content",
            "the text and media references of messages customers send and the business answers",
            "customers",
            "the message",
            true,
        ),
        Category::MessageMetadata => (
            "Message records",
            "when each message was sent, delivered and read, its type and status; no content",
            "customers",
            "the message",
            true,
        ),
        Category::Contact => (
            "Customer profile and choices",
            "WhatsApp number and user id, profile name, consent and opt-out history, flags (restricted, taken over), rights requests waiting for a code",
            "customers",
            "the customer's last activity",
            true,
        ),
        Category::ExportArchive => (
            "Data exports",
            "archives of a person's (or the account's) data made on request, and their download records",
            "customers",
            "the request",
            true,
        ),
        Category::Quarantine => (
            "Unreadable deliveries",
            "signed webhook deliveries that could not be read, kept encrypted for inspection",
            "customers",
            "receipt",
            true,
        ),
        Category::AccountData => (
            "Business account",
            "the business's details (name, industry, contact e-mail and phone, company details; sealed under the account's own key), settings, numbers, API keys, templates and campaigns, and suppression hashes of erased customers who opted out",
            "the business's staff; customers (suppression hashes only)",
            "the account's closure",
            true,
        ),
        Category::Payment => (
            "Billing records",
            "usage statements for tax purposes; no customer data",
            "the business",
            "the end of the billed period",
            false,
        ),
        Category::Analytics => (
            "Usage analytics",
            "aggregate daily counters; no customer identifier",
            "none (aggregates)",
            "the counted day",
            false,
        ),
        Category::Audit => (
            "Audit trail and rights register",
            "who did what to whose data and when (ids only), and every rights request with its outcome",
            "customers; the business's staff",
            "the event",
            true,
        ),
        Category::Erasure => (
            "Erasures in progress",
            "customers whose erasure was asked: removed at once, finished by the purge if interrupted",
            "customers",
            "the request",
            true,
        ),
        Category::ErasureTombstone => (
            "Erasure tombstones",
            "keyed hashes of an erased customer's identifiers and the erasure time, so a redelivered message is not stored again",
            "customers (hashes only)",
            "the erasure",
            true,
        ),
    }
}

fn days(period: Duration) -> u64 {
    period.as_secs() / 86_400
}

/// The record of `tenant` on this deployment at `now`.
pub fn record(tenant: &Tenant, deployment: &Deployment, now: Timestamp) -> RecordOfProcessing {
    let policy: RetentionPolicy = tenant.retention();
    let categories = Category::ALL
        .into_iter()
        .map(|category| {
            let (name, holds, subjects, counted_from, personal) = describe(category);
            DataCategory {
                code: category.code(),
                name,
                holds,
                subjects,
                retention_days: days(policy.period(category)),
                counted_from,
                personal,
            }
        })
        .collect();
    let mut recipients = vec![Recipient {
        name: "Meta Platforms (WhatsApp Business Platform, Cloud API)".into(),
        receives: "the messages the business sends and the read receipts; Meta delivers customers' messages",
        why: "carrying the conversation over WhatsApp",
        location: "Meta's data centres (EU and US)".into(),
    }];
    let mut transfers = vec![
        "Meta may process messages in the United States: EU–US Data Privacy Framework and Meta's standard contractual clauses.".to_owned(),
    ];
    if let Some(host) = &deployment.model_provider {
        recipients.push(Recipient {
            name: format!("The model provider at {host}"),
            receives: "the recent messages of a conversation (phone numbers, e-mail addresses, card numbers and IBANs replaced by placeholders while model redaction is on), the FAQ and the business's instructions",
            why: "writing automated answers",
            location: format!("wherever {host} processes requests"),
        });
        transfers.push(format!(
            "The model provider at {host}: check where it processes requests and the safeguards of its terms."
        ));
    }
    let storage = match &deployment.storage {
        Storage::Aws { region } => {
            recipients.push(Recipient {
                name: "Amazon Web Services".into(),
                receives: "everything Mizan stores, encrypted (DynamoDB, S3, KMS, Lambda)",
                why: "hosting",
                location: format!("AWS region {region}"),
            });
            format!("AWS region {region}")
        }
        Storage::Embedded => "the operator's own server".to_owned(),
    };
    transfers.push(format!("Storage: {storage}."));
    let redaction = if tenant.settings.model_redaction {
        "Phone numbers, e-mail addresses, card numbers and IBANs in customers' words are replaced by placeholders before a model provider reads them."
    } else {
        "Model redaction is off for this business: the model provider reads customers' words as written."
    };
    RecordOfProcessing {
        generated_at: now.to_rfc3339(),
        controller: Party {
            name: tenant.name.clone(),
            role: "controller",
        },
        processor: Party {
            name: "Mizan (the platform operator)".into(),
            role: "processor",
        },
        purposes: vec![
            "answering customers on WhatsApp (automated replies and the business's staff)",
            "sending the messages customers agreed to (templates, campaigns with their consent)",
            "recording consent and opt-outs and honouring them",
            "carrying out customers' rights (access, portability, rectification, restriction, erasure)",
            "proving what was done with personal data (audit trail)",
        ],
        data_subjects: vec![
            "customers who write to the business on WhatsApp",
            "the business's staff who use the API (API key ids only)",
        ],
        categories,
        recipients,
        transfers,
        security_measures: vec![
            "Each customer's personal data is encrypted (AES-256-GCM) under a data key of their own; erasing the customer destroys the key (crypto-shredding, backups included).",
            "Data keys are wrapped by a key management service (AWS KMS on AWS, a local key file on the embedded backend).",
            "Identifiers (numbers, user ids) are stored as keyed hashes (HMAC-SHA256) wherever they are used to look a customer up; no key holds a phone number in clear. The contact list is searched through keyed hashes of number and name prefixes, and the matches confirmed on the sealed profiles.",
            "Logs never carry message text, phone numbers, names, codes or download tokens.",
            "API keys are stored hashed, carry scopes and can expire; every change to personal data is audited with the key that made it.",
            "Webhook deliveries are checked against Meta's signature (HMAC-SHA256) before anything is stored.",
            "Download links of exports are signed, expire, and are limited in downloads.",
            redaction,
        ],
    }
}

impl RecordOfProcessing {
    /// The record as a document a privacy officer reads.
    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "# Record of processing activities (GDPR Art. 30)\n\n\
             Generated {} from Mizan's code and configuration.\n\n\
             - **Controller:** {}\n- **Processor:** {}\n\n## Purposes\n\n",
            self.generated_at, self.controller.name, self.processor.name
        );
        for purpose in &self.purposes {
            out.push_str(&format!("- {purpose}\n"));
        }
        out.push_str("\n## Data subjects\n\n");
        for subject in &self.data_subjects {
            out.push_str(&format!("- {subject}\n"));
        }
        out.push_str(
            "\n## Categories of data and retention\n\n\
             | category | what it holds | whose | kept |\n|---|---|---|---|\n",
        );
        for c in &self.categories {
            let kept = if c.retention_days == 0 {
                "removed at once".to_owned()
            } else {
                format!("{} days after {}", c.retention_days, c.counted_from)
            };
            out.push_str(&format!(
                "| {} (`{}`) | {} | {} | {} |\n",
                c.name, c.code, c.holds, c.subjects, kept
            ));
        }
        out.push_str("\n## Recipients\n\n");
        for r in &self.recipients {
            out.push_str(&format!(
                "- **{}** ({}): {}, for {}.\n",
                r.name, r.location, r.receives, r.why
            ));
        }
        out.push_str("\n## Transfers\n\n");
        for t in &self.transfers {
            out.push_str(&format!("- {t}\n"));
        }
        out.push_str("\n## Security measures\n\n");
        for m in &self.security_measures {
            out.push_str(&format!("- {m}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(chat_days: u32) -> Tenant {
        let mut t = Tenant::new("Atlas Tea", Timestamp::from_millis(0));
        t.settings.chat_retention_days = chat_days;
        t
    }

    fn local() -> Deployment {
        Deployment {
            storage: Storage::Embedded,
            model_provider: None,
        }
    }

    #[test]
    fn a_retention_setting_changes_the_record() {
        let at = |days: u32| {
            record(&tenant(days), &local(), Timestamp::from_millis(0))
                .categories
                .into_iter()
                .find(|c| c.code == Category::ChatContent.code())
                .unwrap()
                .retention_days
        };
        assert_eq!(at(30), 30);
        assert_eq!(at(45), 45);
    }

    #[test]
    fn every_category_of_the_policy_is_in_the_record() {
        let r = record(&tenant(30), &local(), Timestamp::from_millis(0));
        assert_eq!(r.categories.len(), Category::ALL.len());
        let markdown = r.to_markdown();
        for c in &r.categories {
            assert!(markdown.contains(&format!("`{}`", c.code)));
        }
    }

    #[test]
    fn recipients_follow_the_configuration() {
        let none = record(&tenant(30), &local(), Timestamp::from_millis(0));
        assert_eq!(none.recipients.len(), 1, "Meta only");
        let aws = Deployment {
            storage: Storage::Aws {
                region: "eu-west-3".into(),
            },
            model_provider: Some("api.openai.com".into()),
        };
        let full = record(&tenant(30), &aws, Timestamp::from_millis(0));
        let names: Vec<&str> = full.recipients.iter().map(|r| r.name.as_str()).collect();
        assert!(names.iter().any(|n| n.contains("api.openai.com")));
        assert!(full
            .recipients
            .iter()
            .any(|r| r.location == "AWS region eu-west-3"));
    }
}
