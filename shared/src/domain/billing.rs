//! Monthly usage statements: what a business was billed for by WhatsApp, month by month, from
//! the pricing Meta reports with the statuses of its messages (billable or free, by category)
//! and the recipient's country calling code. Issued once at the month's end, never changed, kept
//! seven years after their month for tax, and holding no contact data.

use crate::domain::analytics::Counts;
use crate::domain::ids::TenantId;
use crate::domain::time::Timestamp;
use serde::{Deserialize, Serialize};

/// The counter of a message Meta reported billable (`billable.{category}.{calling code}`) or
/// free (`free.…`); `unknown` stands for what Meta or the number did not say.
pub fn billing_metric(
    billable: bool,
    category: Option<&str>,
    calling_code: Option<&str>,
) -> String {
    let clean = |text: Option<&str>| {
        text.filter(|t| {
            !t.is_empty()
                && t.len() <= 40
                && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
        .unwrap_or("unknown")
        .to_ascii_lowercase()
    };
    format!(
        "{}.{}.{}",
        if billable { "billable" } else { "free" },
        clean(category),
        clean(calling_code)
    )
}

/// One line of a statement: messages of a category to a country calling code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementLine {
    pub category: String,
    /// E.164 country calling code (`212`), or `unknown`.
    pub country_code: String,
    pub billable: u64,
    pub free: u64,
}

/// A month's statement as issued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    pub tenant: TenantId,
    /// `YYYY-MM`.
    pub month: String,
    pub issued_at: Timestamp,
    pub lines: Vec<StatementLine>,
    pub billable: u64,
    pub free: u64,
}

/// Whether `text` names a month (`2026-11`).
pub fn is_month(text: &str) -> bool {
    text.len() == 7 && Timestamp::parse_rfc3339(&format!("{text}-01T00:00:00Z")).is_ok()
}

/// The first instant of a month (`2026-11` → 2026-11-01T00:00:00Z).
pub fn month_start(month: &str) -> Option<Timestamp> {
    Timestamp::parse_rfc3339(&format!("{month}-01T00:00:00Z")).ok()
}

/// The month after `month`.
pub fn next_month(month: &str) -> Option<String> {
    let (year, number) = month.split_once('-')?;
    let (year, number): (u32, u32) = (year.parse().ok()?, number.parse().ok()?);
    let (year, number) = if number >= 12 {
        (year + 1, 1)
    } else {
        (year, number + 1)
    };
    Some(format!("{year:04}-{number:02}"))
}

/// The month before the one `at` falls in: the last month a statement may be issued for.
pub fn previous_month(at: Timestamp) -> String {
    let this = &at.to_rfc3339()[..7];
    let (year, number) = this.split_once('-').unwrap_or(("1970", "01"));
    let (year, number): (u32, u32) = (year.parse().unwrap_or(1970), number.parse().unwrap_or(1));
    let (year, number) = if number <= 1 {
        (year - 1, 12)
    } else {
        (year, number - 1)
    };
    format!("{year:04}-{number:02}")
}

impl Statement {
    /// The statement of `month` from the month's counters (`billable.*` and `free.*`).
    pub fn of(tenant: TenantId, month: &str, counts: &Counts, issued_at: Timestamp) -> Statement {
        let mut lines: Vec<StatementLine> = Vec::new();
        for (name, n) in counts {
            let mut parts = name.splitn(3, '.');
            let (Some(kind), Some(category), Some(code)) =
                (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let billable = match kind {
                "billable" => true,
                "free" => false,
                _ => continue,
            };
            let at = match lines
                .iter()
                .position(|l| l.category == category && l.country_code == code)
            {
                Some(at) => at,
                None => {
                    lines.push(StatementLine {
                        category: category.to_owned(),
                        country_code: code.to_owned(),
                        billable: 0,
                        free: 0,
                    });
                    lines.len() - 1
                }
            };
            if billable {
                lines[at].billable += n;
            } else {
                lines[at].free += n;
            }
        }
        lines.sort_by(|a, b| (&a.category, &a.country_code).cmp(&(&b.category, &b.country_code)));
        Statement {
            tenant,
            month: month.to_owned(),
            issued_at,
            billable: lines.iter().map(|l| l.billable).sum(),
            free: lines.iter().map(|l| l.free).sum(),
            lines,
        }
    }

    /// The statement as CSV: a row per line, then the totals.
    pub fn to_csv(&self) -> String {
        let mut writer = csv::Writer::from_writer(Vec::new());
        let _ = writer.write_record(["month", "category", "country_code", "billable", "free"]);
        for line in &self.lines {
            let _ = writer.write_record([
                self.month.as_str(),
                &line.category,
                &line.country_code,
                &line.billable.to_string(),
                &line.free.to_string(),
            ]);
        }
        let _ = writer.write_record([
            self.month.as_str(),
            "total",
            "",
            &self.billable.to_string(),
            &self.free.to_string(),
        ]);
        String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_name_category_and_calling_code_and_nothing_else() {
        assert_eq!(
            billing_metric(true, Some("marketing"), Some("212")),
            "billable.marketing.212"
        );
        assert_eq!(
            billing_metric(false, Some("service"), None),
            "free.service.unknown"
        );
        assert_eq!(
            billing_metric(true, Some("a.b"), Some("21 2")),
            "billable.unknown.unknown"
        );
    }

    #[test]
    fn a_statement_adds_a_month_s_counters_by_category_and_country() {
        let counts: Counts = [
            ("billable.marketing.212", 40),
            ("billable.marketing.33", 5),
            ("free.service.212", 12),
            ("billable.utility.212", 3),
            ("messages.in.text", 99),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let s = Statement::of(
            TenantId::new("t"),
            "2026-11",
            &counts,
            Timestamp::from_millis(0),
        );
        assert_eq!((s.billable, s.free), (48, 12));
        let lines: Vec<(&str, &str, u64, u64)> = s
            .lines
            .iter()
            .map(|l| {
                (
                    l.category.as_str(),
                    l.country_code.as_str(),
                    l.billable,
                    l.free,
                )
            })
            .collect();
        assert_eq!(
            lines,
            [
                ("marketing", "212", 40, 0),
                ("marketing", "33", 5, 0),
                ("service", "212", 0, 12),
                ("utility", "212", 3, 0)
            ]
        );
        let csv = s.to_csv();
        assert!(csv.starts_with("month,category,country_code,billable,free\n"));
        assert!(csv.ends_with("2026-11,total,,48,12\n"), "{csv}");
    }

    #[test]
    fn months_follow_each_other() {
        assert_eq!(next_month("2026-12").as_deref(), Some("2027-01"));
        assert_eq!(next_month("2026-01").as_deref(), Some("2026-02"));
        let at = Timestamp::parse_rfc3339("2027-01-01T00:00:00Z").unwrap();
        assert_eq!(previous_month(at), "2026-12");
        assert!(is_month("2026-11") && !is_month("2026-13") && !is_month("2026-1"));
        assert_eq!(
            month_start("2026-11"),
            Timestamp::parse_rfc3339("2026-11-01T00:00:00Z").ok()
        );
    }
}
