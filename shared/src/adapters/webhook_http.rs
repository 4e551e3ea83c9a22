//! Webhook deliveries over HTTP: one POST, no redirects, bounded by `ATTEMPT_TIMEOUT`. The URL
//! is checked again before each call, so an endpoint stored under another policy is never called,
//! and its host name is resolved to the addresses the policy allows only, so a name that points
//! at a private address (now, or after the URL was checked: DNS rebinding) is never connected to.

use crate::adapters::lazy_http::LazyHttp;
use crate::domain::webhook::{AttemptResult, UrlPolicy, ATTEMPT_TIMEOUT};
use crate::ports::webhook_delivery::{WebhookPoster, WebhookRequest};
use async_trait::async_trait;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::SocketAddr;
use std::sync::Arc;

pub struct HttpWebhookPoster {
    http: LazyHttp,
    policy: UrlPolicy,
}

impl HttpWebhookPoster {
    pub fn new(policy: UrlPolicy) -> Self {
        HttpWebhookPoster {
            http: LazyHttp::new(ATTEMPT_TIMEOUT)
                .without_redirects()
                .with_resolver(Arc::new(AllowedAddresses { policy })),
            policy,
        }
    }
}

/// Resolves names as the system does, then keeps the addresses `policy` allows.
pub struct AllowedAddresses {
    pub policy: UrlPolicy,
}

/// Every address the name resolved to is one the policy refuses.
#[derive(Debug, thiserror::Error)]
#[error("the host resolves only to addresses webhooks may not reach")]
pub struct AddressRefused;

impl AllowedAddresses {
    pub async fn lookup(&self, host: &str) -> std::io::Result<Vec<SocketAddr>> {
        let policy = self.policy;
        let found = tokio::net::lookup_host((host, 0)).await?;
        Ok(found.filter(|a| policy.allows_address(a.ip())).collect())
    }
}

impl Resolve for AllowedAddresses {
    fn resolve(&self, name: Name) -> Resolving {
        let resolver = AllowedAddresses {
            policy: self.policy,
        };
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let allowed = resolver.lookup(&host).await?;
            if allowed.is_empty() {
                return Err(Box::new(AddressRefused) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// Whether `error` (or what caused it) is the resolver's refusal.
fn refused_address(error: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if e.is::<AddressRefused>() {
            return true;
        }
        source = e.source();
    }
    false
}

fn failed(reason: &str) -> AttemptResult {
    AttemptResult::Failed {
        status: None,
        reason: reason.to_owned(),
    }
}

#[async_trait]
impl WebhookPoster for HttpWebhookPoster {
    async fn post(&self, request: WebhookRequest<'_>) -> AttemptResult {
        if self.policy.check(request.url).is_err() {
            return failed("url_refused");
        }
        let client = match self.http.client() {
            Ok(client) => client,
            Err(_) => return failed("client"),
        };
        let mut call = client
            .post(request.url)
            .header("content-type", "application/json")
            .header("user-agent", "Mizan-Webhooks/1");
        for (name, value) in request.headers {
            call = call.header(name, value);
        }
        match call.body(request.body).send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                if response.status().is_success() {
                    AttemptResult::Accepted { status }
                } else {
                    AttemptResult::Failed {
                        status: Some(status),
                        reason: format!("http_{status}"),
                    }
                }
            }
            // Reasons are kinds, never the error's text (it may quote the URL).
            Err(e) if refused_address(&e) => failed("address_refused"),
            Err(e) if e.is_timeout() => failed("timeout"),
            Err(e) if e.is_connect() => failed("connect"),
            Err(_) => failed("request"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused_unless_the_runner_allows_it() {
        let aws = AllowedAddresses {
            policy: UrlPolicy::default(),
        };
        assert!(aws.lookup("localhost").await.unwrap().is_empty());
        let runner = AllowedAddresses {
            policy: UrlPolicy {
                allow_loopback: true,
            },
        };
        assert!(!runner.lookup("localhost").await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_delivery_to_a_name_resolving_to_a_refused_address_fails_as_refused() {
        // The check on the URL lets `localhost` through for the runner; the resolver of a
        // poster under the AWS policy refuses what it resolves to.
        let http = LazyHttp::new(ATTEMPT_TIMEOUT)
            .without_redirects()
            .with_resolver(Arc::new(AllowedAddresses {
                policy: UrlPolicy::default(),
            }));
        let error = http
            .client()
            .unwrap()
            .post("http://localhost:9/hook")
            .send()
            .await
            .unwrap_err();
        assert!(refused_address(&error), "{error:?}");
    }
}
