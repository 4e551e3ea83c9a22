//! An HTTP client made on its first use. Building one loads and parses the machine's root
//! certificates (about a millisecond of a cold start, measured by the cold-start bench), which
//! an invocation that never calls out (an idle campaign turn, an API request that is not about
//! templates) need not pay.

use std::sync::OnceLock;
use std::time::Duration;

pub struct LazyHttp {
    timeout: Duration,
    follow_redirects: bool,
    client: OnceLock<reqwest::Client>,
}

impl LazyHttp {
    /// Each request may take `timeout` in all, and at most 5 s of it to connect.
    pub fn new(timeout: Duration) -> Self {
        LazyHttp {
            timeout,
            follow_redirects: true,
            client: OnceLock::new(),
        }
    }

    /// A client that answers a redirect as it is, never following it (a URL checked before
    /// the call cannot lead elsewhere).
    pub fn without_redirects(mut self) -> Self {
        self.follow_redirects = false;
        self
    }

    /// The client, made now if this is its first use (a failure is not kept: the next call
    /// tries again).
    pub fn client(&self) -> Result<&reqwest::Client, reqwest::Error> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let built = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.timeout.min(Duration::from_secs(5)))
            .redirect(if self.follow_redirects {
                reqwest::redirect::Policy::default()
            } else {
                reqwest::redirect::Policy::none()
            })
            .build()?;
        Ok(self.client.get_or_init(|| built))
    }
}
