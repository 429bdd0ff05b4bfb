//! Twilio, as LaneRunner speaks to it and hears from it.
//!
//! - [`signature`]: every request Twilio sends (a call's TwiML webhook, an inbound SMS, a
//!   status callback) carries `X-Twilio-Signature`, checked before anything is read.
//! - [`messages`]: the Messages API, in its real REST form (form-encoded `POST
//!   /2010-04-01/Accounts/{AccountSid}/Messages.json` with HTTP basic auth, JSON answers
//!   and Twilio's error objects).
//! - [`calls`]: the Calls API, which places outbound calls whose TwiML comes from a webhook.
//! - [`verify`]: Twilio Verify, which sends a one-time code to a phone and checks it (phone
//!   verification, and a second factor beside TOTP).
//! - `testing` (feature): a stand-in for all of it on loopback.

pub mod calls;
pub mod messages;
pub mod signature;
#[cfg(feature = "testing")]
pub mod testing;
pub mod verify;

pub use calls::{Call, CallsClient, PlaceCall};
pub use messages::{Message, MessagePage, MessagesClient, SendSms, TwilioError};
pub use signature::{expected_signature, verify, SIGNATURE_HEADER};
pub use verify::{Verification, VerifyClient};
