//! Signing in and managing the account: password, emailed codes, magic link and OTP, sign-up,
//! password change.

use cxkit_auth::Secret;
use cxkit_ejento_auth as gen_auth;

use super::tokens::tokens_from_answer;
use super::{Ejento, SessionInfo};
use crate::error::checked;
use crate::{Error, Result};

impl Ejento {
    /// Logs in with a password ("Authenticate User"). Never retried automatically.
    pub async fn login_password(&self, username: &str, password: &Secret) -> Result<SessionInfo> {
        let answer = self
            .inner
            .auth
            .login_access_token()
            .body_map(|b| b.username(username).password(password.expose()))
            .send()
            .await;
        let tokens = tokens_from_answer(
            credentials_answer(answer)
                .await
                .map_err(|e| e.without(&[password]))?,
            self.inner.config.clock().now(),
            self.inner.config.refresh().default_lifetime,
        )?;
        // Tokens that do not name their subject belong to the user who logged in.
        let tokens = match tokens.identity() {
            Some(_) => tokens,
            None => tokens.with_identity(username),
        };
        self.install_set(tokens).await
    }

    /// Emails the user a single-use login code (valid 10 minutes).
    pub async fn request_login_code(&self, email: &str) -> Result<()> {
        let answer = self
            .inner
            .auth
            .request_passwordless_token()
            .body_map(|b| b.email(email))
            .send()
            .await;
        checked(answer).await.map_err(credentials_error)?;
        Ok(())
    }

    /// Logs in with the emailed code. The code is single-use: never retried automatically.
    pub async fn login_with_code(&self, code: &Secret) -> Result<SessionInfo> {
        let answer = self
            .inner
            .auth
            .exchange_passwordless_token()
            .body_map(|b| b.code(code.expose()))
            .send()
            .await;
        self.install(
            credentials_answer(answer)
                .await
                .map_err(|e| e.without(&[code]))?,
        )
        .await
    }

    /// Emails a magic link and a one-time code; returns the OTP session id to pass to
    /// [`Ejento::login_with_email_otp`].
    pub async fn request_magic_link(&self, email: &str, next: Option<&str>) -> Result<String> {
        let answer = self
            .inner
            .auth
            .passwordless_auth()
            .body_map(|b| b.email(email).next(next.map(str::to_owned)))
            .send()
            .await;
        let answer = checked(answer).await.map_err(credentials_error)?;
        answer
            .data
            .and_then(|d| d.otp_session_id)
            .ok_or_else(|| Error::Decode {
                message: "the answer holds no `data.otp_session_id`".into(),
            })
    }

    /// Logs in with the code from a magic-link email ("Verify Email OTP").
    pub async fn login_with_email_otp(
        &self,
        otp_session_id: &str,
        code: &Secret,
    ) -> Result<SessionInfo> {
        let answer = self
            .inner
            .auth
            .verify_email_otp()
            .body_map(|b| b.otp_session_id(otp_session_id).code(code.expose()))
            .send()
            .await;
        self.install(
            credentials_answer(answer)
                .await
                .map_err(|e| e.without(&[code]))?,
        )
        .await
    }

    /// Creates an account ("Register User"). Log in afterwards to get tokens.
    pub async fn sign_up(
        &self,
        email: &str,
        password: &Secret,
        full_name: Option<&str>,
    ) -> Result<gen_auth::types::UserPublic> {
        // No length limit is checked here: no Ejento source states one, and the server's own
        // validation answers with a clear error if it has one.
        let full_name = full_name.map(str::to_owned);
        let answer = self
            .inner
            .auth
            .register_user()
            .body_map(|b| {
                b.email(email)
                    .password(password.expose())
                    .full_name(full_name)
            })
            .send()
            .await;
        checked(answer).await.map_err(|e| e.without(&[password]))
    }

    /// Changes the signed-in user's password ("Update Own Password").
    pub async fn change_password(&self, current: &Secret, new: &Secret) -> Result<()> {
        let answer = self
            .inner
            .auth
            .update_own_password()
            .body_map(|b| {
                b.current_password(current.expose())
                    .new_password(new.expose())
            })
            .send()
            .await;
        checked(answer)
            .await
            .map_err(|e| credentials_error(e).without(&[current, new]))?;
        Ok(())
    }
}

/// Maps a credential call's error: the server refusing the credentials is
/// [`Error::InvalidCredentials`], not a generic API error.
fn credentials_error(e: Error) -> Error {
    e.into_refused_credentials(&[400, 401, 403], "no reason given")
}

/// A token-returning credential call's answer, or its error mapped by [`credentials_error`].
async fn credentials_answer(
    answer: std::result::Result<
        gen_auth::ResponseValue<gen_auth::types::TokenEnvelope>,
        gen_auth::Error<gen_auth::types::AuthServiceError>,
    >,
) -> Result<gen_auth::types::TokenEnvelope> {
    checked(answer).await.map_err(credentials_error)
}
