//! README.txt of every archive: what each file holds.

pub const README: &str = "\
Your data, exported by Mizan on behalf of the business you wrote to on WhatsApp.

index.html    Open it in a browser: your contact details, your consent choices and
              their history, and your messages.
data.json     The same, complete and machine-readable (schema version 1, described by
              the JSON Schema published with Mizan as export-v1.json). Times are UTC
              (RFC 3339). A message's \"content\" is what WhatsApp delivered; it is null
              when the business's chat retention period has already removed it.
messages.csv  One row per message: contact, message id, direction, who sent it
              (customer: you; ai: the business's automated reply; agent: a person
              at the business), type, times, status, and the text a person reads
              (body, caption, reply title).
consent.csv   One row per consent decision: when, for what purpose (marketing,
              automated_replies, all), the decision, how it was given (keyword,
              WhatsApp preference, API, admin), its evidence id and who recorded it.
              In both CSV files a cell that starts with =, +, -, @, a tab or a carriage
              return starts with an added ' so that a spreadsheet shows it as text and
              never runs it as a formula; data.json has every value as it was.

Identifiers such as contact and message ids are keyed hashes: they name records
without revealing your phone number.
";
