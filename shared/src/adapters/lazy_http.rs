//! An HTTP client made on its first use. Building one loads and parses the machine's root
//! certificates (about a millisecond of a cold start, measured by the cold-start bench), which
//! an invocation that never calls out (an idle campaign turn, an API request that is not about
//! templates) need not pay.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub struct LazyHttp {
    timeout: Duration,
    follow_redirects: bool,
    resolver: Option<Arc<dyn reqwest::dns::Resolve>>,
    client: OnceLock<reqwest::Client>,
}

impl LazyHttp {
    /// Each request may take `timeout` in all, and at most 5 s of it to connect.
    pub fn new(timeout: Duration) -> Self {
        LazyHttp {
            timeout,
            follow_redirects: true,
            resolver: None,
            client: OnceLock::new(),
        }
    }

    /// A client that answers a redirect as it is, never following it (a URL checked before
    /// the call cannot lead elsewhere).
    pub fn without_redirects(mut self) -> Self {
        self.follow_redirects = false;
        self
    }

    /// A client that resolves host names through `resolver` (which may refuse addresses).
    pub fn with_resolver(mut self, resolver: Arc<dyn reqwest::dns::Resolve>) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// The client, made now if this is its first use (a failure is not kept: the next call
    /// tries again).
    pub fn client(&self) -> Result<&reqwest::Client, reqwest::Error> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let mut builder = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.timeout.min(Duration::from_secs(5)))
            .redirect(if self.follow_redirects {
                reqwest::redirect::Policy::default()
            } else {
                reqwest::redirect::Policy::none()
            });
        if let Some(resolver) = &self.resolver {
            builder = builder.dns_resolver(resolver.clone());
        }
        let built = builder.build()?;
        Ok(self.client.get_or_init(|| built))
    }
}
