//! A business's webhook endpoints and the deliveries of events to them: which URLs may be
//! called, how long a failing delivery is retried, and when an endpoint is given up on.

use crate::domain::business_event::{BusinessEvent, EventType};
use crate::domain::ids::{random_id, TenantId};
use crate::domain::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::time::Duration;

/// `whk_` + 32 hex digits.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EndpointId(String);

impl EndpointId {
    pub fn generate() -> Self {
        EndpointId(random_id("whk"))
    }

    pub fn parse(text: &str) -> Option<Self> {
        let hex = text.strip_prefix("whk_")?;
        (hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| EndpointId(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for EndpointId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How many endpoints one account may have.
pub const MAX_ENDPOINTS: usize = 10;
/// A failing delivery is retried for at least this long.
pub const RETRY_FOR: Duration = Duration::from_secs(24 * 3600);
/// An endpoint that has failed every delivery for this long is disabled.
pub const DISABLE_AFTER: Duration = Duration::from_secs(24 * 3600);
/// How long the delivery log keeps a delivery.
pub const DELIVERY_LOG_DAYS: u64 = 30;
/// How long one delivery attempt may take before it counts as failed.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum EndpointState {
    Enabled,
    /// Given up on (`failing`: it failed every delivery for a day), until the business
    /// enables it again.
    Disabled {
        at: Timestamp,
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    pub id: EndpointId,
    pub tenant: TenantId,
    pub url: String,
    pub events: Vec<EventType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub created_at: Timestamp,
    #[serde(flatten)]
    pub state: EndpointState,
    /// Since when every attempt has failed; cleared by the next success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<Timestamp>,
    /// Its signing secret is derived from this and Mizan's key (never stored itself).
    pub secret_salt: String,
}

impl WebhookEndpoint {
    pub fn is_enabled(&self) -> bool {
        self.state == EndpointState::Enabled
    }

    /// Whether it gets `event`.
    pub fn wants(&self, event: &BusinessEvent) -> bool {
        self.is_enabled() && event.event_type.reaches(&self.events)
    }
}

/// Which URLs a deployment may call: HTTPS to a public name. The local runner also calls
/// loopback addresses (over HTTP too), where a business's test receiver listens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UrlPolicy {
    pub allow_loopback: bool,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UrlError {
    #[error("url must be an absolute https:// URL")]
    NotHttps,
    #[error("url has no host")]
    NoHost,
    #[error("url must not point at a loopback, private or link-local address")]
    PrivateAddress,
    #[error("url must not carry credentials")]
    Credentials,
    #[error("url is longer than 2048 characters")]
    TooLong,
}

impl UrlPolicy {
    /// Whether a call may connect to `ip`, an address a host name resolved to: a public name
    /// that resolves to a private or loopback address (DNS rebinding) is refused as the
    /// address itself would be.
    pub fn allows_address(self, ip: IpAddr) -> bool {
        if ip.to_canonical().is_loopback() {
            return self.allow_loopback;
        }
        !is_private_address(ip)
    }

    /// Checks `url`; a server-side request to a private address (cloud metadata, the VPC) is
    /// what a hostile endpoint would aim at, so IP literals of those ranges are refused.
    /// Names are not resolved here: the sender's HTTP client resolves them through
    /// [`UrlPolicy::allows_address`] and refuses redirects.
    pub fn check(self, url: &str) -> Result<(), UrlError> {
        if url.len() > 2048 {
            return Err(UrlError::TooLong);
        }
        let (scheme, rest) = url.split_once("://").ok_or(UrlError::NotHttps)?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return Err(UrlError::Credentials);
        }
        let host = host_of(authority).ok_or(UrlError::NoHost)?;
        let loopback = is_loopback(&host);
        match scheme.to_ascii_lowercase().as_str() {
            "https" => {}
            "http" if loopback && self.allow_loopback => {}
            _ => return Err(UrlError::NotHttps),
        }
        if loopback {
            return if self.allow_loopback {
                Ok(())
            } else {
                Err(UrlError::PrivateAddress)
            };
        }
        if is_private(&host) {
            return Err(UrlError::PrivateAddress);
        }
        Ok(())
    }
}

/// The host of `host[:port]` or `[v6]:port`, lowercased.
fn host_of(authority: &str) -> Option<String> {
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        authority.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

fn is_private(host: &str) -> bool {
    match host.parse::<IpAddr>() {
        Ok(ip) => is_private_address(ip),
        Err(_) => host.ends_with(".internal") || host.ends_with(".local"),
    }
}

/// Private (RFC 1918, unique local), link-local (cloud metadata), CGNAT, unspecified and
/// broadcast addresses; an IPv4 address written as IPv6 (`::ffff:10.0.0.1`) counts as itself.
fn is_private_address(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(ip) => {
            ip.is_private()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
                || ip.octets()[0] == 100 && (64..128).contains(&ip.octets()[1])
        }
        IpAddr::V6(ip) => {
            let first = ip.segments()[0];
            ip.is_unspecified() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its first attempt or its next retry.
    Pending,
    Delivered,
    /// Retried for a day without success, or its endpoint was disabled or removed.
    Failed,
}

/// One event on its way to one endpoint, and what happened to it: the delivery log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub endpoint: EndpointId,
    pub event: BusinessEvent,
    pub created_at: Timestamp,
    /// When its retries began: its creation, or its last replay.
    pub retrying_since: Timestamp,
    pub state: DeliveryState,
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<Timestamp>,
    /// The HTTP status of the last attempt, if the endpoint answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<u16>,
    /// Why the last attempt failed (`timeout`, `connect`, `http_500`, `endpoint_disabled`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<Timestamp>,
    /// How many times the business replayed it.
    #[serde(default)]
    pub replays: u32,
}

impl Delivery {
    pub fn new(endpoint: EndpointId, event: BusinessEvent, now: Timestamp) -> Self {
        Delivery {
            endpoint,
            event,
            created_at: now,
            retrying_since: now,
            state: DeliveryState::Pending,
            attempts: 0,
            last_attempt_at: None,
            last_status: None,
            last_error: None,
            next_attempt_at: Some(now),
            delivered_at: None,
            replays: 0,
        }
    }

    /// Queues it again (a replay): a new day of retries from `now`.
    pub fn replay(&mut self, now: Timestamp) {
        self.state = DeliveryState::Pending;
        self.retrying_since = now;
        self.next_attempt_at = Some(now);
        self.replays += 1;
    }

    /// The id the delivery log and the replay route name it by.
    pub fn id(&self) -> String {
        delivery_id(&self.endpoint, &self.event)
    }
}

/// `dlv_` + when its event happened (zero-padded milliseconds) + a hash of the event id and
/// endpoint: one delivery per event and endpoint, and ids that sort by time in the log.
pub fn delivery_id(endpoint: &EndpointId, event: &BusinessEvent) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(endpoint.as_str().as_bytes())
        .chain_update(b"\0")
        .chain_update(event.id.as_bytes())
        .finalize();
    format!(
        "dlv_{:013}_{}",
        event.occurred_at.as_millis().max(0),
        hex::encode(&digest[..16])
    )
}

/// Whether `text` is a delivery id (a URL's).
pub fn is_delivery_id(text: &str) -> bool {
    text.strip_prefix("dlv_")
        .and_then(|rest| rest.split_once('_'))
        .is_some_and(|(millis, hash)| {
            millis.len() == 13
                && millis.bytes().all(|b| b.is_ascii_digit())
                && hash.len() == 32
                && hash.bytes().all(|b| b.is_ascii_hexdigit())
        })
}

/// What one attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttemptResult {
    /// A 2xx answer.
    Accepted { status: u16 },
    /// An answer of another status, or none (`reason`: `timeout`, `connect`, …).
    Failed { status: Option<u16>, reason: String },
}

/// What to do after an attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NextStep {
    Done,
    RetryIn(Duration),
    /// Retried for a day: the delivery fails.
    GiveUp,
    /// The endpoint failed everything for a day: disable it, and the delivery fails.
    DisableEndpoint,
}

/// The wait before retry `attempts` (the number made so far): 5 s, then ×4 up to an hour, so a
/// short outage is bridged in seconds and a long one costs an attempt an hour.
pub fn retry_delay(attempts: u32) -> Duration {
    let exponent = attempts.saturating_sub(1).min(6);
    Duration::from_secs((5u64 * 4u64.pow(exponent)).min(3600))
}

/// What follows an attempt of `delivery` (its `attempts` counting this one) at `now`, with its
/// endpoint failing since `failing_since` (this attempt included).
pub fn after_attempt(
    delivery: &Delivery,
    result: &AttemptResult,
    failing_since: Option<Timestamp>,
    now: Timestamp,
) -> NextStep {
    if matches!(result, AttemptResult::Accepted { .. }) {
        return NextStep::Done;
    }
    if failing_since.is_some_and(|since| now.since(since) >= DISABLE_AFTER) {
        return NextStep::DisableEndpoint;
    }
    if now.since(delivery.retrying_since) >= RETRY_FOR {
        return NextStep::GiveUp;
    }
    NextStep::RetryIn(retry_delay(delivery.attempts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_ids_are_whk_and_32_hex_digits() {
        let id = EndpointId::generate();
        assert_eq!(EndpointId::parse(id.as_str()), Some(id));
        for bad in ["whk_1", "abc", "whk_0123456789abcdef0123456789abcdeg", ""] {
            assert_eq!(EndpointId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_name_may_resolve_only_to_public_addresses() {
        let aws = UrlPolicy::default();
        let runner = UrlPolicy {
            allow_loopback: true,
        };
        for public in ["203.0.113.9", "8.8.8.8", "2001:db8::1"] {
            let ip: IpAddr = public.parse().unwrap();
            assert!(
                aws.allows_address(ip) && runner.allows_address(ip),
                "{public}"
            );
        }
        for private in [
            "10.1.2.3",
            "172.16.0.1",
            "192.168.0.10",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "fd12::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            let ip: IpAddr = private.parse().unwrap();
            assert!(
                !aws.allows_address(ip) && !runner.allows_address(ip),
                "{private}"
            );
        }
        for loopback in ["127.0.0.1", "::1", "::ffff:127.0.0.1"] {
            let ip: IpAddr = loopback.parse().unwrap();
            assert!(!aws.allows_address(ip), "{loopback}");
            assert!(runner.allows_address(ip), "{loopback}");
        }
    }

    #[test]
    fn only_https_to_public_hosts_unless_the_runner_allows_loopback() {
        let aws = UrlPolicy::default();
        assert_eq!(aws.check("https://hooks.example.com/mizan?x=1"), Ok(()));
        assert_eq!(aws.check("https://203.0.113.9:8443/in"), Ok(()));
        for (url, error) in [
            ("http://hooks.example.com/", UrlError::NotHttps),
            ("ftp://hooks.example.com/", UrlError::NotHttps),
            ("hooks.example.com", UrlError::NotHttps),
            ("https://", UrlError::NoHost),
            ("https://user:pw@hooks.example.com/", UrlError::Credentials),
            ("https://127.0.0.1/", UrlError::PrivateAddress),
            ("https://localhost:8080/", UrlError::PrivateAddress),
            ("https://169.254.169.254/latest", UrlError::PrivateAddress),
            ("https://10.0.0.7/", UrlError::PrivateAddress),
            ("https://192.168.1.1/", UrlError::PrivateAddress),
            ("https://100.64.0.1/", UrlError::PrivateAddress),
            ("https://[::1]/", UrlError::PrivateAddress),
            ("https://[fd00::1]/", UrlError::PrivateAddress),
            ("https://[::ffff:10.0.0.1]/", UrlError::PrivateAddress),
            ("https://[::ffff:127.0.0.1]/", UrlError::PrivateAddress),
            (
                "https://metadata.google.internal/",
                UrlError::PrivateAddress,
            ),
        ] {
            assert_eq!(aws.check(url), Err(error), "{url}");
        }
        let runner = UrlPolicy {
            allow_loopback: true,
        };
        assert_eq!(runner.check("http://127.0.0.1:9000/hook"), Ok(()));
        assert_eq!(runner.check("http://localhost:9000/hook"), Ok(()));
        assert_eq!(runner.check("https://[::1]:9000/hook"), Ok(()));
        assert_eq!(
            runner.check("http://hooks.example.com/"),
            Err(UrlError::NotHttps)
        );
        assert_eq!(
            runner.check("https://10.0.0.7/"),
            Err(UrlError::PrivateAddress)
        );
    }

    fn delivery(created_at: Timestamp, attempts: u32) -> Delivery {
        let event = BusinessEvent::new(
            EventType::MessageReceived,
            TenantId::new("ten_a"),
            created_at,
            None,
            serde_json::Value::Null,
            "src",
        );
        let mut delivery = Delivery::new(EndpointId::generate(), event, created_at);
        delivery.attempts = attempts;
        delivery
    }

    #[test]
    fn retries_back_off_from_five_seconds_to_an_hour() {
        let delays: Vec<u64> = (1..=8).map(|n| retry_delay(n).as_secs()).collect();
        assert_eq!(delays, [5, 20, 80, 320, 1280, 3600, 3600, 3600]);
        // Retried for a day: at least 24 attempts, so a day-long outage is bridged.
        let mut waited = Duration::ZERO;
        let mut attempts = 0;
        while waited < RETRY_FOR {
            attempts += 1;
            waited += retry_delay(attempts);
        }
        assert!(attempts >= 24, "{attempts}");
    }

    #[test]
    fn a_failed_attempt_is_retried_for_a_day_then_given_up() {
        let start = Timestamp::from_millis(1_000_000);
        let failed = AttemptResult::Failed {
            status: Some(503),
            reason: "http_503".into(),
        };
        let fresh = delivery(start, 1);
        assert_eq!(
            after_attempt(&fresh, &failed, Some(start), start),
            NextStep::RetryIn(Duration::from_secs(5))
        );
        assert_eq!(
            after_attempt(
                &fresh,
                &AttemptResult::Accepted { status: 204 },
                None,
                start
            ),
            NextStep::Done
        );
        let day_later = start.plus(RETRY_FOR);
        // The endpoint succeeded meanwhile (for other contacts): only this delivery fails.
        let recent = Some(day_later.minus(Duration::from_secs(60)));
        assert_eq!(
            after_attempt(&fresh, &failed, recent, day_later),
            NextStep::GiveUp
        );
        // It failed everything for a day: it is disabled.
        assert_eq!(
            after_attempt(&fresh, &failed, Some(start), day_later),
            NextStep::DisableEndpoint
        );
    }

    #[test]
    fn delivery_ids_are_one_per_event_and_endpoint_and_sort_by_time() {
        let (a, b) = (EndpointId::generate(), EndpointId::generate());
        let early = delivery(Timestamp::from_millis(5), 0).event;
        let mut late = early.clone();
        late.id = "evt_other".into();
        late.occurred_at = Timestamp::from_millis(60_000);
        assert_eq!(delivery_id(&a, &early), delivery_id(&a, &early));
        assert_ne!(delivery_id(&a, &early), delivery_id(&b, &early));
        assert!(delivery_id(&a, &early) < delivery_id(&a, &late));
        assert!(delivery_id(&a, &early).starts_with("dlv_0000000000005_"));
        assert!(is_delivery_id(&delivery_id(&a, &early)));
        for bad in ["dlv_1_00", "dlv_0000000000005", "evt_1", ""] {
            assert!(!is_delivery_id(bad), "{bad}");
        }
    }
}
