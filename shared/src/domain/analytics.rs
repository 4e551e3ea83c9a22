//! Usage analytics, aggregate only: daily counters per tenant, named by what they count
//! (`messages.in.text`, `replies.sent.answer`, `consent.opt_out.keyword`, …), and a fixed
//! histogram of first-response times. No contact id, phone number, text or hash is ever in a
//! counter's name or value, so the counters hold nothing personal and survive any erasure.

use crate::domain::time::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;

/// Counts by metric name.
pub type Counts = BTreeMap<String, u64>;

/// Upper bounds (seconds) of the first-response histogram's buckets; the last is open-ended.
pub const RESPONSE_BUCKETS: [u64; 12] = [
    10,
    30,
    60,
    120,
    300,
    600,
    1_800,
    3_600,
    14_400,
    43_200,
    86_400,
    u64::MAX,
];

/// The metric of a response time's bucket: `response.le_{bound}` (`le_inf` for the last).
pub fn response_metric(seconds: u64) -> String {
    let index = RESPONSE_BUCKETS
        .iter()
        .position(|bound| seconds <= *bound)
        .unwrap_or(RESPONSE_BUCKETS.len() - 1);
    bucket_metric(index)
}

fn bucket_metric(index: usize) -> String {
    match RESPONSE_BUCKETS[index] {
        u64::MAX => "response.le_inf".to_owned(),
        bound => format!("response.le_{bound}"),
    }
}

/// The smallest bucket bound under which at least `quantile` of the responses fall (the
/// median is 0.5): `None` without responses; `u64::MAX` when it is the open-ended bucket.
pub fn response_quantile(counts: &Counts, quantile: f64) -> Option<u64> {
    let buckets: Vec<u64> = (0..RESPONSE_BUCKETS.len())
        .map(|i| counts.get(&bucket_metric(i)).copied().unwrap_or(0))
        .collect();
    let total: u64 = buckets.iter().sum();
    if total == 0 {
        return None;
    }
    let needed = (quantile * total as f64).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (i, n) in buckets.iter().enumerate() {
        seen += n;
        if seen >= needed {
            return Some(RESPONSE_BUCKETS[i]);
        }
    }
    Some(u64::MAX)
}

/// Who sent a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sender {
    Customer,
    Ai,
    Agent,
    Campaign,
}

impl Sender {
    pub fn as_str(self) -> &'static str {
        match self {
            Sender::Customer => "customer",
            Sender::Ai => "ai",
            Sender::Agent => "agent",
            Sender::Campaign => "campaign",
        }
    }
}

/// A value's name as it serializes (`text`, `opt_out`): what a metric is named by.
pub fn label<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(text)) => text,
        _ => "other".to_owned(),
    }
}

/// The UTC day a time falls on (`2026-12-05`): what counters are kept by.
pub fn day_of(at: Timestamp) -> String {
    at.to_rfc3339()[..10].to_owned()
}

/// The month of a day (`2026-12`).
pub fn month_of(day: &str) -> &str {
    &day[..7.min(day.len())]
}

/// Whether `text` is a day as counters name them (`YYYY-MM-DD`).
pub fn is_day(text: &str) -> bool {
    Timestamp::parse_rfc3339(&format!("{text}T00:00:00Z")).is_ok() && text.len() == 10
}

/// Adds `more` into `counts`.
pub fn add(counts: &mut Counts, more: &Counts) {
    for (name, n) in more {
        *counts.entry(name.clone()).or_insert(0) += n;
    }
}

/// The sum of every metric whose name starts with `prefix`.
pub fn total(counts: &Counts, prefix: &str) -> u64 {
    counts
        .iter()
        .filter(|(name, _)| name.starts_with(prefix))
        .map(|(_, n)| n)
        .sum()
}

/// What a business reads first, for one period: messages in and out, how much of the talking
/// the assistant did, opt-ins and opt-outs, and how fast customers were answered.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub messages_in: u64,
    pub messages_out: u64,
    pub ai_replies: u64,
    pub agent_messages: u64,
    pub campaign_messages: u64,
    /// AI replies per customer message, as a percentage: `None` without customer messages.
    pub automation_rate: Option<f64>,
    pub handoffs: u64,
    pub opt_ins: u64,
    pub opt_outs: u64,
    pub responses: u64,
    /// Bucket bounds, seconds (`None` without responses; `null` in JSON past the last bound).
    pub response_median_seconds: Option<u64>,
    pub response_p90_seconds: Option<u64>,
}

impl Summary {
    pub fn of(counts: &Counts) -> Summary {
        let messages_in = total(counts, "messages.in.");
        let ai_replies = total(counts, "messages.out.ai.");
        let bound = |q| response_quantile(counts, q).filter(|b| *b != u64::MAX);
        Summary {
            messages_in,
            messages_out: total(counts, "messages.out."),
            ai_replies,
            agent_messages: total(counts, "messages.out.agent."),
            campaign_messages: total(counts, "messages.out.campaign."),
            automation_rate: (messages_in > 0)
                .then(|| (ai_replies as f64 * 1000.0 / messages_in as f64).round() / 10.0),
            handoffs: total(counts, "handoffs"),
            opt_ins: total(counts, "consent.opt_in."),
            opt_outs: total(counts, "consent.opt_out."),
            responses: total(counts, "response.le_"),
            response_median_seconds: bound(0.5),
            response_p90_seconds: bound(0.9),
        }
    }
}

/// How a range of days is summed up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Granularity {
    Day,
    Month,
}

impl Granularity {
    pub fn parse(text: &str) -> Option<Granularity> {
        match text {
            "day" => Some(Granularity::Day),
            "month" => Some(Granularity::Month),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Day => "day",
            Granularity::Month => "month",
        }
    }
}

/// One day or month of a range: its counters, and what they add up to.
#[derive(Clone, Debug, PartialEq)]
pub struct Period {
    /// `2026-12-05`, or `2026-12`.
    pub name: String,
    pub counts: Counts,
    pub summary: Summary,
}

/// Every day from `from` to `to` (both `YYYY-MM-DD`, `from` first), named.
pub fn days_between(from: &str, to: &str) -> Vec<String> {
    let start = Timestamp::parse_rfc3339(&format!("{from}T00:00:00Z"));
    let end = Timestamp::parse_rfc3339(&format!("{to}T00:00:00Z"));
    let (Ok(mut day), Ok(end)) = (start, end) else {
        return Vec::new();
    };
    let mut days = Vec::new();
    while day <= end {
        days.push(day_of(day));
        day = day.plus(std::time::Duration::from_secs(86_400));
    }
    days
}

/// The range's periods, each day (or month) present whether or not it has counters, so a
/// chart's axis has no gaps.
pub fn periods(
    by_day: &BTreeMap<String, Counts>,
    from: &str,
    to: &str,
    granularity: Granularity,
) -> Vec<Period> {
    let mut named: Vec<(String, Counts)> = Vec::new();
    for day in days_between(from, to) {
        let name = match granularity {
            Granularity::Day => day.clone(),
            Granularity::Month => month_of(&day).to_owned(),
        };
        if named.last().is_none_or(|(last, _)| *last != name) {
            named.push((name, Counts::new()));
        }
        if let (Some((_, counts)), Some(more)) = (named.last_mut(), by_day.get(&day)) {
            add(counts, more);
        }
    }
    named
        .into_iter()
        .map(|(name, counts)| Period {
            summary: Summary::of(&counts),
            name,
            counts,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, u64)]) -> Counts {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    #[test]
    fn response_times_fall_in_fixed_buckets_and_give_median_and_p90() {
        assert_eq!(response_metric(0), "response.le_10");
        assert_eq!(response_metric(10), "response.le_10");
        assert_eq!(response_metric(11), "response.le_30");
        assert_eq!(response_metric(90_000), "response.le_inf");
        let mut c = Counts::new();
        for seconds in [5, 8, 25, 50, 50, 100, 200, 250, 700, 5_000] {
            *c.entry(response_metric(seconds)).or_insert(0) += 1;
        }
        assert_eq!(response_quantile(&c, 0.5), Some(60));
        assert_eq!(response_quantile(&c, 0.9), Some(1_800));
        assert_eq!(response_quantile(&Counts::new(), 0.5), None);
    }

    #[test]
    fn a_summary_adds_families_of_counters() {
        let c = counts(&[
            ("messages.in.text", 8),
            ("messages.in.image", 2),
            ("messages.out.ai.text", 6),
            ("messages.out.agent.text", 1),
            ("messages.out.campaign.template", 3),
            ("consent.opt_out.keyword", 2),
            ("consent.opt_in.api", 1),
            ("handoffs", 1),
            ("response.le_10", 3),
            ("response.le_60", 1),
        ]);
        let s = Summary::of(&c);
        assert_eq!((s.messages_in, s.messages_out), (10, 10));
        assert_eq!(s.automation_rate, Some(60.0));
        assert_eq!((s.opt_ins, s.opt_outs, s.handoffs), (1, 2, 1));
        assert_eq!(s.responses, 4);
        assert_eq!(s.response_median_seconds, Some(10));
        assert_eq!(s.response_p90_seconds, Some(60));
        assert_eq!(Summary::of(&Counts::new()).automation_rate, None);
    }

    #[test]
    fn a_range_has_every_day_or_month_with_or_without_counters() {
        let by_day = BTreeMap::from([
            ("2026-01-31".to_owned(), counts(&[("messages.in.text", 2)])),
            ("2026-02-01".to_owned(), counts(&[("messages.in.text", 3)])),
        ]);
        let days = periods(&by_day, "2026-01-30", "2026-02-02", Granularity::Day);
        let names: Vec<&str> = days.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            ["2026-01-30", "2026-01-31", "2026-02-01", "2026-02-02"]
        );
        assert_eq!(days[1].summary.messages_in, 2);
        assert!(days[0].counts.is_empty());
        let months = periods(&by_day, "2026-01-30", "2026-02-02", Granularity::Month);
        let totals: Vec<(&str, u64)> = months
            .iter()
            .map(|p| (p.name.as_str(), p.summary.messages_in))
            .collect();
        assert_eq!(totals, [("2026-01", 2), ("2026-02", 3)]);
        assert_eq!(days_between("2026-02-28", "2026-03-01").len(), 2);
        assert!(days_between("2026-03-02", "2026-03-01").is_empty());
        assert_eq!(Granularity::parse("week"), None);
    }

    #[test]
    fn days_and_months_are_utc_calendar_names() {
        let at = Timestamp::parse_rfc3339("2026-12-05T23:59:59.999Z").unwrap();
        assert_eq!(day_of(at), "2026-12-05");
        assert_eq!(month_of("2026-12-05"), "2026-12");
        assert!(is_day("2026-02-28"));
        assert!(!is_day("2026-02-30") && !is_day("2026-2-3") && !is_day("yesterday"));
    }
}
