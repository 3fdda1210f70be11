//! Proto AICX's Developer API on `v3-api.proto.cx`: tickets, customers, custom fields and the
//! Voice API, authorized by a teamspace's takeover secret (`Authorization: Bearer`).
//!
//! The takeover secret is static: a refused one is [`Error::InvalidCredentials`] at once, never
//! a refresh. Text to speech streams its audio to an [`AsyncWrite`] in constant memory, whether
//! the server answers with the documented Base64 payload (a JSON string or bare Base64 text) or
//! with the audio itself (decided by the answer's `Content-Type`).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use cxkit::{ProtoPlatform, Secret, TextToSpeechRequest};
//! use cxkit::clients::proto_developer::types::CreateTicket;
//!
//! let proto = ProtoPlatform::builder()
//!     .teamspace_id("sc_123")
//!     .takeover_secret(Secret::new(std::env::var("PROTO_TAKEOVER_SECRET").unwrap_or_default()))
//!     .build()?;
//! let ticket = proto
//!     .create_ticket(CreateTicket {
//!         subject: "Refund".into(),
//!         provided_unique_id: Some("user-42".into()),
//!         customer_id: None,
//!         external_customer_id: None,
//!         gateway_profile_id: None,
//!     })
//!     .await?;
//! let mut file = tokio::fs::File::create("hello.mp3").await?;
//! let speech = proto
//!     .text_to_speech(&TextToSpeechRequest::new("Muraho neza").lang("rw"), &mut file)
//!     .await?;
//! println!("ticket {ticket}, {} bytes of audio", speech.bytes);
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use cxkit_auth::Secret;
use cxkit_proto_developer as gen_dev;
use gen_dev::ClientInfo as _;
use gen_dev::types::{AddCustomFields, AddTags, CreateTicket, CustomFieldCreate, CustomerCreate};
use serde_json::{Map, Value};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::Config;
use crate::handle::{StaticApi, StaticApiKind, required_id, static_handle_accessors};
use crate::{Error, Result};

/// The Developer API's base.
pub const DEFAULT_BASE_URL: &str = "https://v3-api.proto.cx/api/platform/v1";

/// The security scheme of the Developer API (the takeover secret, `Authorization: Bearer`).
pub const TAKEOVER_SECRET: &str = "takeoverSecret";

/// The most text one text-to-speech call takes, in characters (the Voice API page).
pub const MAX_SPEECH_TEXT_CHARS: usize = 5000;

/// The largest audio file speech recognition takes, in bytes (15 MB).
pub const MAX_RECOGNITION_BYTES: usize = 15 * 1024 * 1024;

/// The default bound on the audio one text-to-speech call writes (256 MiB).
pub const DEFAULT_MAX_AUDIO_BYTES: u64 = 256 * 1024 * 1024;

/// How long the voice calls wait for the server's next bytes (the page's 60 s timeout).
pub const VOICE_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Builds a [`ProtoPlatform`].
#[derive(Debug, Default)]
pub struct ProtoPlatformBuilder {
    base_url: Option<String>,
    teamspace_id: Option<String>,
    secret: Option<Secret>,
    config: Option<Config>,
    max_audio_bytes: Option<u64>,
}

impl ProtoPlatformBuilder {
    /// The Developer API base (default [`DEFAULT_BASE_URL`]).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The teamspace's id (the `subcompany_id` of the paths; teamspaces were "sub-companies").
    pub fn teamspace_id(mut self, id: impl Into<String>) -> Self {
        self.teamspace_id = Some(id.into());
        self
    }

    /// The teamspace's takeover secret (teamspace settings page).
    pub fn takeover_secret(mut self, secret: Secret) -> Self {
        self.secret = Some(secret);
        self
    }

    /// The settings shared with other clients (default: `Config::builder().build()`).
    pub fn config(mut self, config: &Config) -> Self {
        self.config = Some(config.clone());
        self
    }

    /// The most audio one text-to-speech call writes (default [`DEFAULT_MAX_AUDIO_BYTES`]).
    pub fn max_audio_bytes(mut self, bytes: u64) -> Self {
        self.max_audio_bytes = Some(bytes);
        self
    }

    /// Checks the configuration and builds the handle.
    pub fn build(self) -> Result<ProtoPlatform> {
        let teamspace_id = required_id(self.teamspace_id, "no Proto teamspace id")?;
        let api = StaticApi::build(&KIND, self.base_url.as_deref(), self.secret, self.config)?;
        Ok(ProtoPlatform {
            inner: Arc::new(Inner {
                api,
                teamspace_id,
                max_audio_bytes: self.max_audio_bytes.unwrap_or(DEFAULT_MAX_AUDIO_BYTES),
            }),
        })
    }
}

/// The Developer API as a static-credential API (the takeover secret).
const KIND: StaticApiKind<gen_dev::Client> = StaticApiKind {
    base_what: "the Proto Developer API base URL",
    default_base: DEFAULT_BASE_URL,
    scheme: TAKEOVER_SECRET,
    missing_secret: "no Proto takeover secret",
    new_client: gen_dev::Client::new_with_client,
};

/// A Proto AICX teamspace's Developer API, bound to the teamspace id and its takeover secret.
/// Cheap to clone.
#[derive(Clone, Debug)]
pub struct ProtoPlatform {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    api: StaticApi<gen_dev::Client>,
    teamspace_id: String,
    max_audio_bytes: u64,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.api
            .debug_fields(
                f.debug_struct("ProtoPlatform")
                    .field("teamspace_id", &self.teamspace_id),
            )
            .finish()
    }
}

static_handle_accessors!(ProtoPlatform, Inner, gen_dev::Client);

/// The audio format text to speech asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpeechFormat {
    /// `mp3`.
    Mp3,
    /// `wav`.
    Wav,
}

impl SpeechFormat {
    fn as_str(self) -> &'static str {
        match self {
            SpeechFormat::Mp3 => "mp3",
            SpeechFormat::Wav => "wav",
        }
    }
}

/// A text-to-speech request ("Text to Speech (TTS)"): the text, and optionally the language,
/// format, speed and voice gender.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TextToSpeechRequest {
    text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    lang: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    speed: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gender: Option<String>,
}

impl TextToSpeechRequest {
    /// Speech for `text` (at most [`MAX_SPEECH_TEXT_CHARS`] characters).
    pub fn new(text: impl Into<String>) -> Self {
        TextToSpeechRequest {
            text: text.into(),
            lang: None,
            response_format: None,
            speed: None,
            gender: None,
        }
    }

    /// The language (`rw`, Kinyarwanda, or `kj`).
    pub fn lang(mut self, lang: impl Into<String>) -> Self {
        self.lang = Some(lang.into());
        self
    }

    /// The audio format.
    pub fn format(mut self, format: SpeechFormat) -> Self {
        self.response_format = Some(format.as_str());
        self
    }

    /// The speaking speed, 0.25 to 4.0.
    pub fn speed(mut self, speed: f64) -> Self {
        self.speed = Some(speed);
        self
    }

    /// The voice's gender (e.g. `female`).
    pub fn gender(mut self, gender: impl Into<String>) -> Self {
        self.gender = Some(gender.into());
        self
    }

    fn check(&self) -> Result<()> {
        if self.text.is_empty() {
            return Err(Error::config("text to speech needs some text"));
        }
        let chars = self.text.chars().count();
        if chars > MAX_SPEECH_TEXT_CHARS {
            return Err(Error::config(format!(
                "text to speech takes at most {MAX_SPEECH_TEXT_CHARS} characters, not {chars}"
            )));
        }
        if let Some(speed) = self.speed
            && !(0.25..=4.0).contains(&speed)
        {
            return Err(Error::config(format!(
                "text to speech speed is 0.25 to 4.0, not {speed}"
            )));
        }
        Ok(())
    }
}

/// How the server sent the audio of a text-to-speech call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpeechEncoding {
    /// A JSON string of Base64 (`application/json`), as the page documents.
    Base64Json,
    /// Bare Base64 text (`text/plain`).
    Base64Text,
    /// The audio itself (`audio/*`, `application/octet-stream`, or no content type).
    Raw,
}

/// What a text-to-speech call wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SpeechOutput {
    /// Audio bytes written (decoded).
    pub bytes: u64,
    /// How the server sent them.
    pub encoding: SpeechEncoding,
    /// The answer's `Content-Type`, if any.
    pub content_type: Option<String>,
}

impl ProtoPlatform {
    /// Starts configuring a handle.
    pub fn builder() -> ProtoPlatformBuilder {
        ProtoPlatformBuilder::default()
    }

    fn teamspace(&self) -> &str {
        &self.inner.teamspace_id
    }

    /// Creates a ticket ("Create ticket") and returns the conversation's id.
    pub async fn create_ticket(&self, ticket: CreateTicket) -> Result<String> {
        let answer = self
            .client()
            .create_ticket()
            .subcompany_id(self.teamspace())
            .body(ticket)
            .send()
            .await;
        Ok(self.inner.api.checked(answer).await?.id)
    }

    /// Reads a customer by the unique id your application gave it ("Get customer"): every
    /// field but the custom field values, as the JSON object the server sends.
    pub async fn get_customer(&self, provided_unique_id: &str) -> Result<Map<String, Value>> {
        let answer = self
            .client()
            .get_customer()
            .subcompany_id(self.teamspace())
            .provided_unique_id(provided_unique_id)
            .send()
            .await;
        Ok(self.inner.api.checked(answer).await?.0)
    }

    /// Creates a customer under the unique id your application gives it ("Create customer").
    pub async fn create_customer(
        &self,
        provided_unique_id: &str,
        customer: CustomerCreate,
    ) -> Result<Map<String, Value>> {
        let answer = self
            .client()
            .create_customer()
            .subcompany_id(self.teamspace())
            .provided_unique_id(provided_unique_id)
            .body(customer)
            .send()
            .await;
        Ok(self.inner.api.checked(answer).await?.0)
    }

    /// Applies tags to a customer ("Add tags").
    pub async fn add_customer_tags(
        &self,
        provided_unique_id: &str,
        tags: AddTags,
    ) -> Result<Value> {
        let answer = self
            .client()
            .add_customer_tags()
            .subcompany_id(self.teamspace())
            .provided_unique_id(provided_unique_id)
            .body(tags)
            .send()
            .await;
        Ok(self.inner.api.checked(answer).await?.0)
    }

    /// Sets custom field values on a customer ("Add custom fields").
    pub async fn add_customer_custom_fields(
        &self,
        provided_unique_id: &str,
        fields: AddCustomFields,
    ) -> Result<Value> {
        let answer = self
            .client()
            .add_customer_custom_fields()
            .subcompany_id(self.teamspace())
            .provided_unique_id(provided_unique_id)
            .body(fields)
            .send()
            .await;
        Ok(self.inner.api.checked(answer).await?.0)
    }

    /// Lists the teamspace's custom fields ("List custom fields").
    pub async fn list_custom_fields(&self) -> Result<Value> {
        let answer = self
            .client()
            .list_custom_fields()
            .subcompany_id(self.teamspace())
            .send()
            .await;
        Ok(self.inner.api.checked(answer).await?.0)
    }

    /// Creates a custom field ("Create custom field").
    pub async fn create_custom_field(&self, field: CustomFieldCreate) -> Result<Value> {
        let answer = self
            .client()
            .create_custom_field()
            .subcompany_id(self.teamspace())
            .body(field)
            .send()
            .await;
        Ok(self.inner.api.checked(answer).await?.0)
    }

    /// Deletes a custom field ("Delete custom field").
    pub async fn delete_custom_field(&self, custom_field_id: &str) -> Result<Value> {
        let answer = self
            .client()
            .delete_custom_field()
            .subcompany_id(self.teamspace())
            .custom_field_id(custom_field_id)
            .send()
            .await;
        Ok(self.inner.api.checked(answer).await?.0)
    }

    /// Converts text to speech ("Text to Speech (TTS)") and writes the audio to `out` as it
    /// arrives, in constant memory: Base64 (a JSON string or bare text) is decoded on the fly,
    /// raw audio is copied. Not retried (a POST); each read waits at most
    /// [`VOICE_IDLE_TIMEOUT`], and at most the handle's `max_audio_bytes` are written. `out` is
    /// flushed, not shut down.
    pub async fn text_to_speech(
        &self,
        request: &TextToSpeechRequest,
        out: &mut (impl AsyncWrite + Unpin + ?Sized),
    ) -> Result<SpeechOutput> {
        request.check()?;
        let url = format!(
            "{}/voice/{}/tts",
            self.client().baseurl(),
            encode_segment(self.teamspace())
        );
        let request = self
            .client()
            .client()
            .post(url)
            // Accepts every form the audio may take; `application/octet-stream` also marks the
            // call as a stream for the hooks, which then leave the body's bound to this reader.
            .header(
                reqwest::header::ACCEPT,
                "application/json, text/plain;q=0.9, audio/*;q=0.8, application/octet-stream;q=0.8",
            )
            .json(request)
            .build()
            .map_err(|e| Error::transport(&e))?;
        let mut response = self.send("text_to_speech", request).await?;
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let essence = content_type.as_deref().map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        });
        let encoding = match essence.as_deref() {
            Some("application/json") => SpeechEncoding::Base64Json,
            Some(t) if t.ends_with("+json") => SpeechEncoding::Base64Json,
            Some("text/plain") => SpeechEncoding::Base64Text,
            _ => SpeechEncoding::Raw,
        };
        let limit = self.inner.max_audio_bytes;
        let mut decoder = match encoding {
            SpeechEncoding::Raw => None,
            SpeechEncoding::Base64Json => Some(Base64Stream::new(true)),
            SpeechEncoding::Base64Text => Some(Base64Stream::new(false)),
        };
        let mut written: u64 = 0;
        let mut decoded = Vec::new();
        loop {
            let chunk = tokio::time::timeout(VOICE_IDLE_TIMEOUT, response.chunk())
                .await
                .map_err(|_| Error::Transient {
                    message: "the text-to-speech answer stalled".into(),
                    status: None,
                })?
                .map_err(|e| Error::transport(&e))?;
            let Some(chunk) = chunk else { break };
            let bytes: &[u8] = match decoder.as_mut() {
                None => &chunk,
                Some(d) => {
                    decoded.clear();
                    d.feed(&chunk, &mut decoded)?;
                    &decoded
                }
            };
            written += bytes.len() as u64;
            if written > limit {
                return Err(Error::ResponseTooLarge {
                    limit,
                    setting: "ProtoPlatformBuilder::max_audio_bytes",
                });
            }
            out.write_all(bytes).await.map_err(write_failed)?;
        }
        if let Some(d) = decoder.as_mut() {
            decoded.clear();
            d.finish(&mut decoded)?;
            written += decoded.len() as u64;
            if written > limit {
                return Err(Error::ResponseTooLarge {
                    limit,
                    setting: "ProtoPlatformBuilder::max_audio_bytes",
                });
            }
            out.write_all(&decoded).await.map_err(write_failed)?;
        }
        out.flush().await.map_err(write_failed)?;
        Ok(SpeechOutput {
            bytes: written,
            encoding,
            content_type,
        })
    }

    /// Transcribes an audio file, mp3 or wav of at most 15 MB ("Automatic Speech Recognition
    /// (ASR)"), sent as the multipart field `file`. The answer's shape is not documented, so it
    /// comes back as JSON. The path (`/voice/{teamspace}/asr`) is inferred; see the spec.
    pub async fn speech_to_text(
        &self,
        audio: Vec<u8>,
        file_name: impl Into<String>,
        mime: &str,
    ) -> Result<Value> {
        if audio.len() > MAX_RECOGNITION_BYTES {
            return Err(Error::config(format!(
                "speech recognition takes at most {MAX_RECOGNITION_BYTES} bytes, not {}",
                audio.len()
            )));
        }
        let part = reqwest::multipart::Part::bytes(audio)
            .file_name(file_name.into())
            .mime_str(mime)
            .map_err(|_| Error::config(format!("`{mime}` is not a MIME type")))?;
        let url = format!(
            "{}/voice/{}/asr",
            self.client().baseurl(),
            encode_segment(self.teamspace())
        );
        let request = self
            .client()
            .client()
            .post(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .build()
            .map_err(|e| Error::transport(&e))?;
        let response = self.send("speech_to_text", request).await?;
        let bytes = crate::error::read_whole(response, self.config().http().body_timeout).await?;
        serde_json::from_slice(&bytes).map_err(|e| Error::decode(&e))
    }

    /// Sends a hand-written request through the generated client's hooks (the same
    /// credentials, per-call options and URL scrubbing as generated calls); a non-2xx answer
    /// becomes an [`Error`] (a refused takeover secret: [`Error::InvalidCredentials`]).
    async fn send(&self, operation: &str, request: reqwest::Request) -> Result<reqwest::Response> {
        let response =
            crate::error::send_hooked(self.client(), &gen_dev::SECURITY, operation, request)
                .await?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = crate::error::read_capped(response, self.config().http().body_timeout).await;
        Err(Error::api_answer(status, Some(&headers), &body).without(&[&self.inner.api.secret]))
    }
}

/// Writing to the caller's writer failed (a local I/O error; it names no secret).
fn write_failed(error: std::io::Error) -> Error {
    Error::config(format!("could not write the audio: {error}"))
}

/// A path segment, percent-encoded.
fn encode_segment(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

/// Decodes Base64 as it arrives: a JSON string (`"..."`, with `\/` escapes and surrounding
/// whitespace) or bare text (line breaks allowed); standard or URL-safe alphabet. Holds at most
/// three undecoded characters between chunks.
#[derive(Debug)]
struct Base64Stream {
    quoted: bool,
    state: QuoteState,
    pending: Vec<u8>,
    padded: bool,
}

#[derive(Debug, PartialEq, Eq)]
enum QuoteState {
    Before,
    Inside,
    Escape,
    After,
}

impl Base64Stream {
    fn new(quoted: bool) -> Self {
        Base64Stream {
            quoted,
            state: if quoted {
                QuoteState::Before
            } else {
                QuoteState::Inside
            },
            pending: Vec::with_capacity(8192),
            padded: false,
        }
    }

    fn bad(what: &str) -> Error {
        Error::Decode {
            message: format!("the text-to-speech answer is not Base64 audio: {what}"),
        }
    }

    fn feed(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> Result<()> {
        for &b in chunk {
            match self.state {
                QuoteState::Before => match b {
                    b'"' => self.state = QuoteState::Inside,
                    b' ' | b'\t' | b'\r' | b'\n' => {}
                    _ => return Err(Self::bad("not a JSON string")),
                },
                QuoteState::After => {
                    if !b.is_ascii_whitespace() {
                        return Err(Self::bad("data after the JSON string"));
                    }
                }
                QuoteState::Escape => {
                    self.state = QuoteState::Inside;
                    match b {
                        b'/' => self.push(b'/')?,
                        // Line breaks of wrapped Base64, escaped inside the string.
                        b'n' | b'r' => {}
                        _ => return Err(Self::bad("an unexpected escape in the string")),
                    }
                }
                QuoteState::Inside => match b {
                    b'"' if self.quoted => self.state = QuoteState::After,
                    b'\\' if self.quoted => self.state = QuoteState::Escape,
                    b'\r' | b'\n' | b' ' | b'\t' if !self.quoted => {}
                    _ => self.push(b)?,
                },
            }
            if self.pending.len() >= 8192 {
                self.drain(out, false)?;
            }
        }
        self.drain(out, false)
    }

    fn push(&mut self, b: u8) -> Result<()> {
        let b = match b {
            b'-' => b'+',
            b'_' => b'/',
            b => b,
        };
        if b == b'=' {
            self.padded = true;
        } else if self.padded {
            return Err(Self::bad("data after the padding"));
        } else if !(b.is_ascii_alphanumeric() || b == b'+' || b == b'/') {
            return Err(Self::bad("a character outside the alphabet"));
        }
        self.pending.push(b);
        Ok(())
    }

    /// Decodes every whole group of four (all of them at the end).
    fn drain(&mut self, out: &mut Vec<u8>, end: bool) -> Result<()> {
        let whole = if end {
            self.pending.len()
        } else {
            self.pending.len() / 4 * 4
        };
        if whole == 0 {
            return Ok(());
        }
        let engine = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
        );
        engine
            .decode_vec(&self.pending[..whole], out)
            .map_err(|_| Self::bad("invalid Base64"))?;
        self.pending.drain(..whole);
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> Result<()> {
        match self.state {
            QuoteState::Before => return Err(Self::bad("an empty answer")),
            QuoteState::Inside if self.quoted => return Err(Self::bad("an unterminated string")),
            QuoteState::Escape => return Err(Self::bad("an unterminated string")),
            _ => {}
        }
        self.drain(out, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_in_chunks(input: &[u8], quoted: bool, size: usize) -> Result<Vec<u8>> {
        let mut d = Base64Stream::new(quoted);
        let mut out = Vec::new();
        for chunk in input.chunks(size.max(1)) {
            d.feed(chunk, &mut out)?;
        }
        d.finish(&mut out)?;
        Ok(out)
    }

    #[test]
    fn json_string_and_bare_text_decode() {
        let audio = b"ID3\x03\x00\x00binary\xff\xfe";
        let b64 = base64::engine::general_purpose::STANDARD.encode(audio);
        let json = format!(" \"{}\" \n", b64.replace('/', "\\/"));
        assert_eq!(decode_in_chunks(json.as_bytes(), true, 3).unwrap(), audio);
        let wrapped = format!("{}\r\n{}\n", &b64[..4], &b64[4..]);
        assert_eq!(
            decode_in_chunks(wrapped.as_bytes(), false, 5).unwrap(),
            audio
        );
        let urlsafe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(audio);
        assert_eq!(
            decode_in_chunks(urlsafe.as_bytes(), false, 7).unwrap(),
            audio
        );
    }

    #[test]
    fn malformed_answers_are_decode_errors() {
        for (input, quoted) in [
            (&b"{\"audio\": \"QQ==\"}"[..], true),
            (b"\"QQ==\" x", true),
            (b"\"QQ==", true),
            (b"\"QQ==QQ==\"", true),
            (b"QQ*=", false),
            (b"", true),
            (b"\"Q\\n\"", true),
        ] {
            let e = decode_in_chunks(input, quoted, 2).unwrap_err();
            assert!(matches!(e, Error::Decode { .. }), "{input:?}: {e:?}");
        }
    }

    #[test]
    fn request_limits_are_checked_before_sending() {
        assert!(TextToSpeechRequest::new("a".repeat(5000)).check().is_ok());
        assert!(TextToSpeechRequest::new("é".repeat(5001)).check().is_err());
        assert!(TextToSpeechRequest::new("a").speed(4.5).check().is_err());
        assert!(TextToSpeechRequest::new("a").speed(0.2).check().is_err());
        assert!(TextToSpeechRequest::new("").check().is_err());
        assert!(TextToSpeechRequest::new("a").speed(0.25).check().is_ok());
    }

    proptest! {
        #[test]
        fn any_chunking_decodes_what_was_encoded(
            audio in proptest::collection::vec(any::<u8>(), 0..300),
            size in 1usize..17,
            quoted in any::<bool>(),
        ) {
            let b64 = base64::engine::general_purpose::STANDARD.encode(&audio);
            let body = if quoted { format!("\"{b64}\"") } else { b64 };
            prop_assert_eq!(decode_in_chunks(body.as_bytes(), quoted, size).unwrap(), audio);
        }

        #[test]
        fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..200), quoted in any::<bool>()) {
            let _ = decode_in_chunks(&body, quoted, 3);
        }
    }
}
