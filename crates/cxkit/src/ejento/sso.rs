//! Single sign-on: the provider's login URL, read from the auth-service's redirect.

use cxkit_auth::SendRaw as _;
use cxkit_ejento_auth as gen_auth;
use gen_auth::ClientInfo as _;

use super::Ejento;
use crate::{Error, Result};

/// An identity provider for single sign-on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SsoProvider {
    /// Google.
    Google,
    /// Microsoft.
    Microsoft,
    /// LinkedIn.
    LinkedIn,
    /// Okta.
    Okta,
}

impl SsoProvider {
    fn operation(self) -> (&'static str, &'static str) {
        match self {
            SsoProvider::Google => (
                "initiate_google_sso_login",
                "/auth-service/api/v2/sso/google/login",
            ),
            SsoProvider::Microsoft => (
                "initiate_microsoft_sso_login",
                "/auth-service/api/v2/sso/microsoft/login",
            ),
            SsoProvider::LinkedIn => (
                "initiate_linkedin_sso_login",
                "/auth-service/api/v2/sso/linkedin/login",
            ),
            SsoProvider::Okta => (
                "initiate_okta_sso_login",
                "/auth-service/api/v2/sso/okta/login",
            ),
        }
    }
}

impl Ejento {
    /// The URL to send the user's browser to for single sign-on, read from the auth-service's
    /// redirect (which is not followed). After sign-in the provider returns to `next` with the
    /// tokens; pass them to [`Ejento::adopt_tokens`].
    pub async fn sso_login_url(&self, provider: SsoProvider, next: &str) -> Result<url::Url> {
        let (operation, path) = provider.operation();
        let client = &self.inner.auth;
        let request = client
            .client()
            .get(format!("{}{path}", client.baseurl()))
            .query(&[("next", next)])
            .build()
            .map_err(|e| Error::transport(&e))?;
        let response = client.send_raw(operation, request).await?;
        let status = response.status();
        if !status.is_redirection() {
            let body =
                crate::error::read_capped(response, self.inner.config.http().body_timeout).await;
            return Err(Error::api(status.as_u16(), &body));
        }
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Error::Decode {
                message: "the SSO redirect has no Location header".into(),
            })?;
        response.url().join(location).map_err(|_| Error::Decode {
            message: "the SSO redirect's Location is not a URL".into(),
        })
    }
}
