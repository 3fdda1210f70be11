//! Hand-written constructors for the request bodies applications build by hand, beside the
//! generated types they extend (`types::HumanCreate`, `types::HumanUpdate`).
//!
//! The generated `types::builder::*` builders work too, but take every optional field as an
//! `Option<String>` and only fail at `try_into()`; these setters take `&str` or `String` and
//! cannot fail, since the one required field is an argument of `new`.

use crate::types::{HumanCreate, HumanTag, HumanUpdate};

impl HumanCreate {
    /// A new human with its only required field, the full name; set the rest with the
    /// builder-style setters.
    ///
    /// ```
    /// use cxkit_proto::types::HumanCreate;
    ///
    /// let human = HumanCreate::new("Test 1")
    ///     .email("test1@example.com")
    ///     .uid("user-42")
    ///     .tag_ids(["vip", "beta"]);
    /// assert_eq!(human.fullname, "Test 1");
    /// assert_eq!(human.email.as_deref(), Some("test1@example.com"));
    /// assert_eq!(human.tag_ids, ["vip", "beta"]);
    /// // Unset fields are left out of the JSON body.
    /// assert_eq!(
    ///     serde_json::to_value(&HumanCreate::new("Ann")).unwrap(),
    ///     serde_json::json!({"fullname": "Ann"})
    /// );
    /// ```
    pub fn new(fullname: impl Into<String>) -> Self {
        HumanCreate {
            fullname: fullname.into(),
            access_token: None,
            email: None,
            phone_number: None,
            profile_pic_id: None,
            tag_ids: Vec::new(),
            tags: Vec::new(),
            uid: None,
        }
    }

    /// The end user's access token (see `cxkit::Proto::bridge_access_token` to keep it in
    /// step with an Ejento session instead).
    pub fn access_token(mut self, token: impl Into<String>) -> Self {
        self.access_token = Some(token.into());
        self
    }

    /// The end user's tag ids (replacing any set before).
    pub fn tag_ids<I, S>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tag_ids = ids.into_iter().map(Into::into).collect();
        self
    }

    /// The end user's tags as `{id, value}` pairs (replacing any set before), the form one
    /// revision of the vendor page documents in place of `tag_ids`; send one of the two.
    ///
    /// ```
    /// use cxkit_proto::types::HumanCreate;
    ///
    /// let human = HumanCreate::new("Ann").tags([("tag-1", "gold")]);
    /// assert_eq!(
    ///     serde_json::to_value(&human).unwrap(),
    ///     serde_json::json!({"fullname": "Ann", "tags": [{"id": "tag-1", "value": "gold"}]})
    /// );
    /// ```
    pub fn tags<I, K, V>(mut self, tags: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.tags = tags
            .into_iter()
            .map(|(id, value)| HumanTag {
                id: Some(id.into()),
                value: Some(value.into()),
            })
            .collect();
        self
    }
}

impl HumanUpdate {
    /// An update that changes nothing yet; every setter adds one field to change (fields
    /// left unset are not sent, so the server keeps them).
    ///
    /// ```
    /// use cxkit_proto::types::HumanUpdate;
    ///
    /// let update = HumanUpdate::new().fullname("Test One").phone_number("+15550100");
    /// assert_eq!(
    ///     serde_json::to_value(&update).unwrap(),
    ///     serde_json::json!({"fullname": "Test One", "phone_number": "+15550100"})
    /// );
    /// ```
    pub fn new() -> Self {
        HumanUpdate::default()
    }

    /// A new full name.
    pub fn fullname(mut self, fullname: impl Into<String>) -> Self {
        self.fullname = Some(fullname.into());
        self
    }

    /// A new access token (`""` empties it).
    pub fn access_token(mut self, token: impl Into<String>) -> Self {
        self.access_token = Some(token.into());
        self
    }
}

/// The setters both request types share: each sets one optional text field.
macro_rules! text_setters {
    ($($ty:ident),*) => {$(
        impl $ty {
            /// The end user's e-mail address.
            pub fn email(mut self, email: impl Into<String>) -> Self {
                self.email = Some(email.into());
                self
            }

            /// The id the web app knows the user by (`humanUid` in Proto's Webchat snippet).
            pub fn uid(mut self, uid: impl Into<String>) -> Self {
                self.uid = Some(uid.into());
                self
            }

            /// The end user's phone number.
            pub fn phone_number(mut self, phone: impl Into<String>) -> Self {
                self.phone_number = Some(phone.into());
                self
            }

            /// The end user's profile picture id.
            pub fn profile_pic_id(mut self, id: impl Into<String>) -> Self {
                self.profile_pic_id = Some(id.into());
                self
            }
        }
    )*};
}

text_setters!(HumanCreate, HumanUpdate);
