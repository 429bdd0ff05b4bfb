//! The rules of telling people, free of I/O: the kinds of news, the channels, what each
//! person wants by default, when quiet hours release a message, when a flood becomes a
//! digest, and what each event says to whom.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use lanerunner_core::EventEnvelope;
use lanerunner_platform::http::{Invalid, Violations};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The kinds of news a person can be told, each a row of their preferences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A new load matches one of your saved searches.
    SearchAlert,
    /// The matching service suggests a truck for your load or a load for your truck.
    Match,
    /// The other side made an offer or a counter-offer on one of your negotiations.
    Offer,
    /// A negotiation ended in an agreed rate: the load is booked.
    Booked,
    /// A tracked load may arrive late at a stop.
    LateRisk,
    /// A rate confirmation was signed, or a load's paperwork is complete.
    Paperwork,
    /// An invoice was issued.
    Invoice,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::SearchAlert,
        Kind::Match,
        Kind::Offer,
        Kind::Booked,
        Kind::LateRisk,
        Kind::Paperwork,
        Kind::Invoice,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SearchAlert => "search_alert",
            Kind::Match => "match",
            Kind::Offer => "offer",
            Kind::Booked => "booked",
            Kind::LateRisk => "late_risk",
            Kind::Paperwork => "paperwork",
            Kind::Invoice => "invoice",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::SearchAlert => "Saved-search alerts",
            Kind::Match => "Suggested matches",
            Kind::Offer => "Offers and counter-offers",
            Kind::Booked => "Bookings",
            Kind::LateRisk => "Late-arrival risks",
            Kind::Paperwork => "Signatures and paperwork",
            Kind::Invoice => "Invoices",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The console's notification list, live over the WebSocket.
    InApp,
    Email,
    /// To the person's verified mobile number.
    Sms,
}

impl Channel {
    pub const ALL: [Channel; 3] = [Channel::InApp, Channel::Email, Channel::Sms];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::InApp => "in_app",
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// How one kind of news reaches one channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Off,
    /// One message per notice, as soon as quiet hours allow.
    Immediate,
    /// Gathered into one message every `digest_minutes`.
    Digest,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Off => "off",
            Mode::Immediate => "immediate",
            Mode::Digest => "digest",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        [Mode::Off, Mode::Immediate, Mode::Digest]
            .into_iter()
            .find(|m| m.as_str() == s)
    }
}

/// What a person gets until they say otherwise: everything in the app; by email what needs
/// them now, the rest gathered; by text only what cannot wait (an offer, a booking, a late
/// truck).
pub fn default_mode(kind: Kind, channel: Channel) -> Mode {
    match (channel, kind) {
        (Channel::InApp, _) => Mode::Immediate,
        (Channel::Email, Kind::SearchAlert | Kind::Match | Kind::Paperwork) => Mode::Digest,
        (Channel::Email, _) => Mode::Immediate,
        (Channel::Sms, Kind::Offer | Kind::Booked | Kind::LateRisk) => Mode::Immediate,
        (Channel::Sms, _) => Mode::Off,
    }
}

/// A choice a person may make: the app lists notices as they come or not at all.
pub fn allowed(channel: Channel, mode: Mode) -> bool {
    !(channel == Channel::InApp && mode == Mode::Digest)
}

// ---- quiet hours ----

/// Local times between which no email or text is sent (it waits until `end`); may span
/// midnight (22:00–06:00). The in-app list is never held back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quiet {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// When a message due `now` may go out for someone in `tz` with `quiet` hours: `now`, or the
/// end of the quiet hours it falls in.
pub fn release_at(now: DateTime<Utc>, tz: Tz, quiet: Option<Quiet>) -> DateTime<Utc> {
    let Some(q) = quiet.filter(|q| q.start != q.end) else {
        return now;
    };
    let local = now.with_timezone(&tz);
    let t = local.time().with_nanosecond(0).unwrap_or(local.time());
    let inside = if q.start < q.end {
        t >= q.start && t < q.end
    } else {
        t >= q.start || t < q.end
    };
    if !inside {
        return now;
    }
    let mut day = local.date_naive();
    if t >= q.end {
        day = day.succ_opt().unwrap_or(day);
    }
    let end = day.and_time(q.end);
    match tz.from_local_datetime(&end) {
        chrono::LocalResult::Single(at) => at.with_timezone(&Utc),
        // Clocks fell back: the first of the two.
        chrono::LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        // Clocks sprang forward over the end: the first minute that exists after it.
        chrono::LocalResult::None => tz
            .from_local_datetime(&(end + Duration::hours(1)))
            .earliest()
            .map(|at| at.with_timezone(&Utc))
            .unwrap_or(now),
    }
}

/// Whether the next immediate message would make this hour a flood: beyond `per_hour` on a
/// channel, the rest of the hour's news goes into the digest instead.
pub fn flooding(sent_last_hour: i64, per_hour: u32) -> bool {
    sent_last_hour >= i64::from(per_hour)
}

// ---- settings ----

pub const MIN_DIGEST_MINUTES: i32 = 15;
pub const MAX_DIGEST_MINUTES: i32 = 1440;
pub const DEFAULT_DIGEST_MINUTES: i32 = 60;

/// A person's settings as sent (`PUT /v1/notifications/settings`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsInput {
    /// IANA time zone (`America/Chicago`) quiet hours are read in.
    pub time_zone: String,
    /// `HH:MM`, local; both or neither.
    #[serde(default)]
    pub quiet_start: Option<String>,
    #[serde(default)]
    pub quiet_end: Option<String>,
    /// How often gathered news is sent: 15–1440 minutes.
    #[serde(default = "default_digest")]
    pub digest_minutes: i32,
}

fn default_digest() -> i32 {
    DEFAULT_DIGEST_MINUTES
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub time_zone: Tz,
    pub quiet: Option<Quiet>,
    pub digest_minutes: i32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            time_zone: chrono_tz::America::Chicago,
            quiet: None,
            digest_minutes: DEFAULT_DIGEST_MINUTES,
        }
    }
}

pub fn parse_hhmm(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M").ok()
}

impl SettingsInput {
    pub fn validate(self) -> Result<Settings, Invalid> {
        let mut v = Violations::default();
        let time_zone = match self.time_zone.trim().parse::<Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                v.add(
                    "time_zone",
                    "an IANA time zone such as America/Chicago is expected",
                );
                None
            }
        };
        let mut times = [None, None];
        for (i, (field, value)) in [
            ("quiet_start", &self.quiet_start),
            ("quiet_end", &self.quiet_end),
        ]
        .into_iter()
        .enumerate()
        {
            if let Some(s) = value {
                match parse_hhmm(s) {
                    Some(t) => times[i] = Some(t),
                    None => v.add(field, "a local time as HH:MM (00:00–23:59) is expected"),
                }
            }
        }
        let quiet = match (self.quiet_start.is_some(), self.quiet_end.is_some(), times) {
            (true, true, [Some(start), Some(end)]) if start == end => {
                v.add(
                    "quiet_end",
                    "quiet hours must end at another time than they start",
                );
                None
            }
            (true, true, [Some(start), Some(end)]) => Some(Quiet { start, end }),
            (false, false, _) => None,
            (true, false, _) => {
                v.add("quiet_end", "quiet hours need both a start and an end");
                None
            }
            (false, true, _) => {
                v.add("quiet_start", "quiet hours need both a start and an end");
                None
            }
            _ => None,
        };
        if !(MIN_DIGEST_MINUTES..=MAX_DIGEST_MINUTES).contains(&self.digest_minutes) {
            v.add(
                "digest_minutes",
                format!("between {MIN_DIGEST_MINUTES} and {MAX_DIGEST_MINUTES} minutes"),
            );
        }
        let settings = Settings {
            time_zone: time_zone.unwrap_or(chrono_tz::UTC),
            quiet,
            digest_minutes: self.digest_minutes,
        };
        v.into_result(settings)
    }
}

// ---- what events say ----

/// Who in the event's organization is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Every active member.
    Everyone,
    /// One person (the owner of a saved search).
    User(Uuid),
}

/// An offer a carrier can take by text ("YES 4821"): which negotiation, and the message the
/// offer was, so a reply never accepts a later, different offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Takeable {
    pub negotiation_id: Uuid,
    pub offer_seq: i64,
    pub total_cents: i64,
}

/// What one event tells people.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub kind: Kind,
    pub title: String,
    pub body: String,
    /// The console page it is about (`#/loads/…`).
    pub link: String,
    /// Two notices with the same key for one person are one (a redelivered event, a risk
    /// raised again for the same stop).
    pub dedupe_key: String,
    pub audience: Audience,
    pub takeable: Option<Takeable>,
}

/// Every event type a notice is made from.
pub const SOURCES: &[&str] = &[
    "search.alert.v1",
    "match.suggested.v1",
    "negotiation.updated.v1",
    "tracking.late_risk.v1",
    "documents.signed.v1",
    "documents.checklist_completed.v1",
    "payments.invoice_issued.v1",
];

/// `$2,450.00`.
pub fn dollars(cents: i64) -> String {
    lanerunner_core::Cents(cents).grouped()
}

fn short(id: &serde_json::Value) -> String {
    id.as_str()
        .map(|s| s.chars().take(8).collect())
        .unwrap_or_default()
}

fn text(v: &serde_json::Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// The notice `event` makes for its organization, if any. Payloads are the publishing
/// services' (see the event-contract test); a field missing makes no notice rather than a
/// wrong one.
pub fn notice(event: &EventEnvelope) -> Option<Notice> {
    let org = event.org_id?.0;
    let p = &event.payload;
    let load = p["load_id"].as_str()?;
    let link = format!("#/loads/{load}");
    let n = match event.event_type.as_str() {
        "search.alert.v1" => Notice {
            kind: Kind::SearchAlert,
            title: format!("New load for “{}”", text(&p["search_name"])),
            body: format!(
                "{:.0} loaded miles, {:.0} miles deadhead, {}/mi.",
                p["loaded_miles"].as_f64()?,
                p["deadhead_miles"].as_f64()?,
                dollars(p["rate_per_mile_cents"].as_f64()?.round() as i64)
            ),
            link,
            dedupe_key: format!("search:{}:{load}", text(&p["search_id"])),
            audience: Audience::User(p["user_id"].as_str()?.parse().ok()?),
            takeable: None,
        },
        "match.suggested.v1" => {
            // The best few only: a run suggests many, and people want the top of the list.
            if p["rank"].as_u64()? > 3 {
                return None;
            }
            let for_broker = p["broker_org_id"].as_str()? == org.to_string();
            Notice {
                kind: Kind::Match,
                title: if for_broker {
                    format!("A truck for load {}", short(&p["load_id"]))
                } else {
                    format!("A load for your truck {}", short(&p["truck_id"]))
                },
                body: format!(
                    "Suggestion #{} with {:.0} miles deadhead.",
                    p["rank"].as_u64()?,
                    p["deadhead_miles"].as_f64()?
                ),
                link,
                dedupe_key: format!("match:{load}:{}", text(&p["truck_id"])),
                audience: Audience::Everyone,
                takeable: None,
            }
        }
        "negotiation.updated.v1" => {
            // Only an offer from the other side is news to this organization.
            let ours = if p["broker_org_id"].as_str()? == org.to_string() {
                "broker"
            } else {
                "carrier"
            };
            // An agreement is news to both sides (`negotiation.agreed.v1` goes to the
            // broker only); an offer only to the side that did not make it.
            if p["event"]["event"] == "agreed" {
                let total = p["event"]["total_cents"].as_i64()?;
                return Some(Notice {
                    kind: Kind::Booked,
                    title: format!("Booked at {}", dollars(total)),
                    body: format!(
                        "Load {} is booked at {} all in.",
                        short(&p["load_id"]),
                        dollars(total)
                    ),
                    link,
                    dedupe_key: format!("booked:{}", text(&p["negotiation_id"])),
                    audience: Audience::Everyone,
                    takeable: None,
                });
            }
            if p["event"]["event"] != "offered" || p["side"] == ours {
                return None;
            }
            let offer = &p["event"]["offer"];
            let rate = offer["rate_cents"].as_i64()?;
            let extras: i64 = offer["accessorials"]
                .as_array()
                .map(|a| a.iter().filter_map(|x| x[1].as_i64()).sum())
                .unwrap_or(0);
            let from = if ours == "broker" {
                "The carrier"
            } else {
                "The broker"
            };
            let negotiation: Uuid = p["negotiation_id"].as_str()?.parse().ok()?;
            let seq = p["seq"].as_i64()?;
            Notice {
                kind: Kind::Offer,
                title: format!("{} offers {}", from, dollars(rate + extras)),
                body: format!(
                    "{from} offered {} on load {}.",
                    dollars(rate + extras),
                    short(&p["load_id"])
                ),
                link: format!("#/negotiations/{negotiation}"),
                dedupe_key: format!("offer:{negotiation}:{seq}"),
                audience: Audience::Everyone,
                takeable: (ours == "carrier").then_some(Takeable {
                    negotiation_id: negotiation,
                    offer_seq: seq,
                    total_cents: rate + extras,
                }),
            }
        }
        "tracking.late_risk.v1" => {
            let eta: DateTime<Utc> = p["eta"].as_str()?.parse().ok()?;
            let end: DateTime<Utc> = p["window_end"].as_str()?.parse().ok()?;
            let late = (eta - end).num_minutes().max(0);
            Notice {
                kind: Kind::LateRisk,
                title: format!("Load {} may be late", text(&p["reference"])),
                body: format!(
                    "ETA at {} is {} minutes after its window closes.",
                    text(&p["stop"]),
                    late
                ),
                link,
                dedupe_key: format!("late:{load}:{}", text(&p["stop"])),
                audience: Audience::Everyone,
                takeable: None,
            }
        }
        "documents.signed.v1" => Notice {
            kind: Kind::Paperwork,
            title: format!("{} signed", text(&p["kind"]).replace('_', " ")),
            body: format!(
                "The {} signed the {} for load {}.",
                text(&p["party"]),
                text(&p["kind"]).replace('_', " "),
                short(&p["load_id"])
            ),
            link,
            dedupe_key: format!("signed:{}:{}", text(&p["document_id"]), text(&p["party"])),
            audience: Audience::Everyone,
            takeable: None,
        },
        "documents.checklist_completed.v1" => Notice {
            kind: Kind::Paperwork,
            title: format!("Paperwork complete for {}", text(&p["reference"])),
            body: format!(
                "Every document of load {} is in: it can be invoiced.",
                text(&p["reference"])
            ),
            link,
            dedupe_key: format!("checklist:{load}"),
            audience: Audience::Everyone,
            takeable: None,
        },
        "payments.invoice_issued.v1" => Notice {
            kind: Kind::Invoice,
            title: format!("Invoice {} issued", text(&p["number"])),
            body: format!(
                "{} to {}, due {}.",
                dollars(p["amount_cents"].as_i64()?),
                text(&p["customer_name"]),
                text(&p["due_at"]).get(..10).unwrap_or_default()
            ),
            link: format!("#/invoices/{}", text(&p["invoice_id"])),
            dedupe_key: format!("invoice:{}", text(&p["invoice_id"])),
            audience: Audience::Everyone,
            takeable: None,
        },
        _ => return None,
    };
    Some(n)
}

/// The text of an SMS for `notice`: short, with the code that takes an offer.
pub fn sms_text(title: &str, body: &str, reply_code: Option<&str>) -> String {
    let mut s = format!("LaneRunner: {title}. {body}");
    if let Some(code) = reply_code {
        s += &format!(" Reply YES {code} to accept.");
    }
    s
}

/// The subject and text of a digest of `items` (title, body) for one person.
pub fn digest_text(items: &[(String, String)]) -> (String, String) {
    let subject = match items.len() {
        1 => items[0].0.clone(),
        n => format!("{n} updates on LaneRunner"),
    };
    let mut text = String::new();
    for (title, body) in items {
        text += &format!("• {title}\n  {body}\n\n");
    }
    (subject, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lanerunner_core::{EventType, OrgId};
    use serde_json::json;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn quiet(a: &str, b: &str) -> Option<Quiet> {
        Some(Quiet {
            start: parse_hhmm(a).unwrap(),
            end: parse_hhmm(b).unwrap(),
        })
    }

    #[test]
    fn a_message_in_overnight_quiet_hours_waits_until_morning_local_time() {
        let chicago = chrono_tz::America::Chicago;
        // 23:30 in Chicago (CST, UTC-6) on 10 January: held until 06:00 the next day.
        let late = at("2027-01-11T05:30:00Z");
        assert_eq!(
            release_at(late, chicago, quiet("22:00", "06:00")),
            at("2027-01-11T12:00:00Z")
        );
        // 03:00 local: held until 06:00 the same day.
        assert_eq!(
            release_at(at("2027-01-11T09:00:00Z"), chicago, quiet("22:00", "06:00")),
            at("2027-01-11T12:00:00Z")
        );
        // 07:00 local: sent now.
        let morning = at("2027-01-11T13:00:00Z");
        assert_eq!(
            release_at(morning, chicago, quiet("22:00", "06:00")),
            morning
        );
        // No quiet hours: now.
        assert_eq!(release_at(late, chicago, None), late);
    }

    #[test]
    fn quiet_hours_within_a_day_and_across_a_clock_change() {
        let ny = chrono_tz::America::New_York;
        // 12:30 EST in a 12:00–13:00 lunch break: 13:00 EST = 18:00Z.
        assert_eq!(
            release_at(at("2027-01-11T17:30:00Z"), ny, quiet("12:00", "13:00")),
            at("2027-01-11T18:00:00Z")
        );
        // Quiet 01:00–02:30 on the night clocks spring forward (14 March 2027, 02:00 →
        // 03:00): 02:30 does not exist, so the message goes at 03:30 EDT (07:30Z).
        assert_eq!(
            release_at(at("2027-03-14T06:30:00Z"), ny, quiet("01:00", "02:30")),
            at("2027-03-14T07:30:00Z")
        );
    }

    #[test]
    fn settings_are_checked_field_by_field() {
        let bad = SettingsInput {
            time_zone: "Mars/Olympus".into(),
            quiet_start: Some("25:00".into()),
            quiet_end: None,
            digest_minutes: 5,
        }
        .validate()
        .unwrap_err();
        let fields: Vec<_> = bad.0.iter().map(|f| f.field.clone()).collect();
        assert!(fields.contains(&"time_zone".to_string()), "{fields:?}");
        assert!(fields.contains(&"quiet_start".to_string()), "{fields:?}");
        assert!(fields.contains(&"quiet_end".to_string()), "{fields:?}");
        assert!(fields.contains(&"digest_minutes".to_string()), "{fields:?}");
        let good = SettingsInput {
            time_zone: "America/Denver".into(),
            quiet_start: Some("21:30".into()),
            quiet_end: Some("06:15".into()),
            digest_minutes: 30,
        }
        .validate()
        .unwrap();
        assert_eq!(good.time_zone, chrono_tz::America::Denver);
        assert_eq!(good.quiet, quiet("21:30", "06:15"));
    }

    #[test]
    fn defaults_text_only_what_cannot_wait_and_never_digest_the_app() {
        assert_eq!(default_mode(Kind::Offer, Channel::Sms), Mode::Immediate);
        assert_eq!(default_mode(Kind::Invoice, Channel::Sms), Mode::Off);
        assert_eq!(
            default_mode(Kind::SearchAlert, Channel::Email),
            Mode::Digest
        );
        for k in Kind::ALL {
            assert_eq!(default_mode(k, Channel::InApp), Mode::Immediate);
        }
        assert!(!allowed(Channel::InApp, Mode::Digest));
        assert!(allowed(Channel::Email, Mode::Digest));
        assert!(flooding(6, 6));
        assert!(!flooding(5, 6));
    }

    fn event(kind: &str, org: Uuid, payload: serde_json::Value) -> EventEnvelope {
        let (name, _) = kind.rsplit_once(".v").unwrap();
        let name: &'static str = Box::leak(name.to_owned().into_boxed_str());
        EventEnvelope::new(
            EventType::new(name, 1),
            Some(OrgId(org)),
            Uuid::now_v7(),
            &payload,
        )
        .unwrap()
    }

    #[test]
    fn an_offer_is_news_only_to_the_side_that_did_not_make_it_and_carriers_can_take_it() {
        let (broker, carrier, neg, load) = (
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
        );
        let payload = json!({
            "negotiation_id": neg, "load_id": load, "broker_org_id": broker, "carrier_org_id": carrier,
            "status": "open", "seq": 3, "side": "broker", "author_id": null, "text": null, "at": "2027-01-11T12:00:00Z",
            "event": {"event": "offered", "offer": {"by": "broker", "rate_cents": 210000, "accessorials": [["detention", 5000]], "expires_at": null, "at": "2027-01-11T12:00:00Z"}},
        });
        assert!(notice(&event("negotiation.updated.v1", broker, payload.clone())).is_none());
        let n = notice(&event("negotiation.updated.v1", carrier, payload)).unwrap();
        assert_eq!(n.kind, Kind::Offer);
        assert_eq!(n.title, "The broker offers $2,150.00");
        assert_eq!(
            n.takeable,
            Some(Takeable {
                negotiation_id: neg,
                offer_seq: 3,
                total_cents: 215000
            })
        );
        assert_eq!(n.dedupe_key, format!("offer:{neg}:3"));
    }

    #[test]
    fn a_search_alert_goes_to_the_person_who_saved_the_search() {
        let (org, user, load, search) = (
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
            Uuid::now_v7(),
        );
        let n = notice(&event(
            "search.alert.v1",
            org,
            json!({"search_id": search, "search_name": "Chicago reefer", "carrier_org_id": org, "user_id": user,
                   "load_id": load, "deadhead_miles": 42.4, "loaded_miles": 912.0, "rate_per_mile_cents": 265.0}),
        ))
        .unwrap();
        assert_eq!(n.audience, Audience::User(user));
        assert_eq!(n.title, "New load for “Chicago reefer”");
        assert_eq!(n.body, "912 loaded miles, 42 miles deadhead, $2.65/mi.");
        // A payload without the field it needs makes nothing rather than nonsense.
        assert!(notice(&event(
            "search.alert.v1",
            org,
            json!({"search_id": search, "load_id": load})
        ))
        .is_none());
    }

    #[test]
    fn money_reads_as_dollars() {
        assert_eq!(dollars(123456789), "$1,234,567.89");
        assert_eq!(dollars(5), "$0.05");
        assert_eq!(dollars(-250000), "-$2,500.00");
    }
}
