//! Application windows, pledges and rounds (R3, R6, R18).
//!
//! The seed gives deadlines as dates in China ("until 23 March"): such a window
//! stays open until the end of that day in Asia/Shanghai, whatever the server's zone.
//! Asia/Shanghai has been a fixed UTC+8 offset with no daylight saving time since
//! 1991, so a [`chrono::FixedOffset`] of +08:00 is exact for every date this service
//! handles and no time-zone database is needed.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::Violation;

/// Asia/Shanghai: UTC+8 all year (no DST since 1991).
pub fn shanghai() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// The calendar date of `instant` in Asia/Shanghai.
pub fn date_in_shanghai(instant: DateTime<Utc>) -> NaiveDate {
    instant.with_timezone(&shanghai()).date_naive()
}

/// The first instant of `date` in Asia/Shanghai (00:00:00.000 +08:00), in UTC.
pub fn start_of_day_shanghai(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(NaiveTime::MIN)
        .and_local_timezone(shanghai())
        .single()
        .expect("a fixed offset has exactly one mapping")
        .with_timezone(&Utc)
}

/// The last millisecond of `date` in Asia/Shanghai (23:59:59.999 +08:00), in UTC: a
/// window "until 23 March" closes at that instant (API.md).
pub fn end_of_day_shanghai(date: NaiveDate) -> DateTime<Utc> {
    start_of_day_shanghai(date) + TimeDelta::days(1) - TimeDelta::milliseconds(1)
}

/// Formats an instant as Beijing time for messages, e.g. `2018-09-30 23:59:59`.
pub fn format_shanghai(instant: DateTime<Utc>) -> String {
    instant
        .with_timezone(&shanghai())
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// A period in which applications are accepted: open iff
/// `opens_at <= now <= closes_at` (the closing instant itself is still open).
///
/// Only [`Window::new`] (or deserializing, which calls it) builds one, so
/// `opens_at < closes_at` always holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawWindow")]
pub struct Window {
    opens_at: DateTime<Utc>,
    closes_at: DateTime<Utc>,
}

/// The JSON shape of a window before its check.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    opens_at: DateTime<Utc>,
    closes_at: DateTime<Utc>,
}

impl TryFrom<RawWindow> for Window {
    type Error = Violation;
    fn try_from(raw: RawWindow) -> Result<Self, Self::Error> {
        Self::new(raw.opens_at, raw.closes_at)
    }
}

impl Window {
    /// A window from `opens_at` to `closes_at`; `window.invalid` unless it closes
    /// strictly after it opens.
    pub fn new(opens_at: DateTime<Utc>, closes_at: DateTime<Utc>) -> Result<Self, Violation> {
        if closes_at <= opens_at {
            return Err(Violation::new(
                "window.invalid",
                format!(
                    "截止时间（{}，北京时间）必须晚于开始时间（{}）",
                    format_shanghai(closes_at),
                    format_shanghai(opens_at)
                ),
                format!(
                    "the window must close ({} Beijing time) after it opens ({})",
                    format_shanghai(closes_at),
                    format_shanghai(opens_at)
                ),
            ));
        }
        Ok(Self {
            opens_at,
            closes_at,
        })
    }

    /// A window over whole days in Asia/Shanghai: from the start of `first` to the end
    /// of `last` (e.g. "until 23 March").
    pub fn shanghai_days(first: NaiveDate, last: NaiveDate) -> Result<Self, Violation> {
        Self::new(start_of_day_shanghai(first), end_of_day_shanghai(last))
    }

    /// When the window opens.
    pub fn opens_at(&self) -> DateTime<Utc> {
        self.opens_at
    }

    /// When the window closes (the last instant still inside it).
    pub fn closes_at(&self) -> DateTime<Utc> {
        self.closes_at
    }

    /// Whether `now` is inside the window, both ends included.
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        self.opens_at <= now && now <= self.closes_at
    }

    /// `window.closed` unless the window is open at `now` (R6, R18); the message shows
    /// the opening or closing time in Beijing time.
    pub fn check_open(&self, now: DateTime<Utc>) -> Result<(), Violation> {
        if now < self.opens_at {
            let at = format_shanghai(self.opens_at);
            Err(Violation::new(
                "window.closed",
                format!("申请尚未开始，开始时间为北京时间 {at}"),
                format!("applications are not open yet: they open at {at} Beijing time (UTC+8)"),
            ))
        } else if now > self.closes_at {
            let at = format_shanghai(self.closes_at);
            Err(Violation::new(
                "window.closed",
                format!("申请已截止（截止时间为北京时间 {at}），本轮不能再新增、修改或提交"),
                format!(
                    "applications closed at {at} Beijing time (UTC+8); nothing can be added, changed or submitted in this round"
                ),
            ))
        } else {
            Ok(())
        }
    }
}

/// The longest pledge version label.
pub const PLEDGE_VERSION_MAX_CHARS: usize = 50;

/// The declaration a candidate accepts before a prior-degree application (R3).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawPledge")]
pub struct Pledge {
    version: String,
    text: String,
}

/// The JSON shape of a pledge before its check.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPledge {
    version: String,
    text: String,
}

impl TryFrom<RawPledge> for Pledge {
    type Error = Violation;
    fn try_from(raw: RawPledge) -> Result<Self, Self::Error> {
        Self::new(&raw.version, &raw.text)
    }
}

impl Pledge {
    /// A pledge; the version (trimmed) must be 1–50 characters (`pledge.version`),
    /// the text must not be blank (`pledge.text`).
    pub fn new(version: &str, text: &str) -> Result<Self, Violation> {
        let version = version.trim();
        let chars = version.chars().count();
        if chars == 0 || chars > PLEDGE_VERSION_MAX_CHARS {
            return Err(Violation::new(
                "pledge.version",
                format!("承诺书版本号须为1到{PLEDGE_VERSION_MAX_CHARS}个字符，收到{chars}个"),
                format!(
                    "a pledge version is 1 to {PLEDGE_VERSION_MAX_CHARS} characters; got {chars}"
                ),
            ));
        }
        if text.trim().is_empty() {
            return Err(Violation::new(
                "pledge.text",
                "承诺书正文不能为空",
                "the pledge text must not be empty",
            ));
        }
        Ok(Self {
            version: version.to_owned(),
            text: text.to_owned(),
        })
    }

    /// The version label, e.g. `2018-spring-1`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The full text the candidate reads.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// `pledge.not_accepted` unless the applicant accepted exactly this version (R3).
    pub fn check_accepted(&self, version: Option<&str>, accepted: bool) -> Result<(), Violation> {
        match version.map(str::trim) {
            Some(v) if accepted && v == self.version => Ok(()),
            Some(v) if accepted => Err(Violation::new(
                "pledge.not_accepted",
                format!(
                    "接受的承诺书版本“{}”不是当前版本“{}”，请重新阅读并同意当前承诺书",
                    crate::course::shorten(v),
                    self.version
                ),
                format!(
                    "the accepted pledge version \"{}\" is not the current one (\"{}\"): read and accept the current pledge",
                    crate::course::shorten(v),
                    self.version
                ),
            )),
            _ => Err(Violation::new(
                "pledge.not_accepted",
                "申请前须阅读并勾选“我已阅读并同意全部条款”",
                "read the pledge and tick \"I have read and agree to all terms\" before applying",
            )),
        }
    }
}

/// One certification round: its two windows, its pledge and the catalogue version it
/// is pinned to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Round {
    /// Round id.
    pub id: Uuid,
    /// Human name, e.g. `2018年下半年`.
    pub name: String,
    /// When prior-degree applications are accepted (R6).
    pub prior_degree_window: Window,
    /// When certification applications are accepted (R18).
    pub certification_window: Window,
    /// The pledge to accept before a prior-degree application (R3).
    pub pledge: Pledge,
    /// The catalogue version current when the round was created.
    pub catalog_version: Uuid,
}

impl Round {
    /// The trimmed name, or `round.name` if it is blank or over 100 characters.
    pub fn check_name(name: &str) -> Result<String, Violation> {
        let name = name.trim();
        let chars = name.chars().count();
        if chars == 0 || chars > 100 {
            return Err(Violation::new(
                "round.name",
                "轮次名称须为 1–100 个字符",
                "a round name has 1–100 characters",
            ));
        }
        Ok(name.to_owned())
    }

    /// `window.closed` unless prior-degree applications are open at `now` (R6).
    pub fn check_prior_degree_open(&self, now: DateTime<Utc>) -> Result<(), Violation> {
        self.prior_degree_window.check_open(now)
    }

    /// `window.closed` unless certification applications are open at `now` (R18).
    pub fn check_certification_open(&self, now: DateTime<Utc>) -> Result<(), Violation> {
        self.certification_window.check_open(now)
    }

    /// Whether either window is open at `now` (a candidate for `rounds/current`).
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        self.prior_degree_window.is_open(now) || self.certification_window.is_open(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    /// The seed's certification window: until 30 September 2018.
    fn seed_certification_window() -> Window {
        Window::shanghai_days(date(2018, 9, 1), date(2018, 9, 30)).unwrap()
    }

    #[test]
    fn a_window_until_23_march_closes_at_the_end_of_that_day_in_shanghai() {
        let closes = end_of_day_shanghai(date(2018, 3, 23));
        assert_eq!(
            closes.with_timezone(&shanghai()).to_rfc3339(),
            "2018-03-23T23:59:59.999+08:00"
        );
        assert_eq!(closes.to_rfc3339(), "2018-03-23T15:59:59.999+00:00");
        assert_eq!(
            start_of_day_shanghai(date(2018, 3, 23)).to_rfc3339(),
            "2018-03-22T16:00:00+00:00"
        );
    }

    #[test]
    fn one_second_before_the_deadline_is_open_and_one_second_after_is_closed() {
        let w = seed_certification_window();
        let deadline = w.closes_at();
        assert!(w.is_open(deadline - TimeDelta::seconds(1)));
        assert!(w.check_open(deadline - TimeDelta::seconds(1)).is_ok());
        assert!(!w.is_open(deadline + TimeDelta::seconds(1)));
        let err = w.check_open(deadline + TimeDelta::seconds(1)).unwrap_err();
        assert_eq!(err.code, "window.closed");
        assert!(err.en.contains("2018-09-30 23:59:59"), "{}", err.en);
        assert!(err.zh.contains("2018-09-30 23:59:59"), "{}", err.zh);
    }

    #[test]
    fn the_closing_instant_itself_is_open() {
        let w = seed_certification_window();
        assert!(w.is_open(w.closes_at()));
        assert!(!w.is_open(w.closes_at() + TimeDelta::milliseconds(1)));
        assert!(w.is_open(w.opens_at()));
        assert!(!w.is_open(w.opens_at() - TimeDelta::milliseconds(1)));
    }

    #[test]
    fn late_evening_in_shanghai_on_the_last_day_is_still_open_whatever_the_server_zone() {
        // 23:30 in Shanghai on 30 September is 15:30 UTC the same day, and 30 Sept
        // 16:30 UTC is already 1 October in Shanghai.
        let w = seed_certification_window();
        assert!(w.is_open(utc(2018, 9, 30, 15, 30, 0)));
        assert!(!w.is_open(utc(2018, 9, 30, 16, 0, 0)));
        let in_new_york = FixedOffset::west_opt(4 * 3600).unwrap();
        let late = in_new_york
            .with_ymd_and_hms(2018, 9, 30, 11, 59, 59)
            .unwrap();
        assert!(w.is_open(late.with_timezone(&Utc)));
    }

    #[test]
    fn before_opening_is_closed_with_the_opening_time() {
        let w = seed_certification_window();
        let err = w.check_open(utc(2018, 8, 31, 15, 0, 0)).unwrap_err();
        assert_eq!(err.code, "window.closed");
        assert!(err.en.contains("2018-09-01 00:00:00"), "{}", err.en);
    }

    #[test]
    fn a_window_must_close_after_it_opens() {
        let t = utc(2018, 3, 1, 0, 0, 0);
        assert_eq!(Window::new(t, t).unwrap_err().code, "window.invalid");
        assert_eq!(
            Window::new(t, t - TimeDelta::seconds(1)).unwrap_err().code,
            "window.invalid"
        );
        assert!(Window::new(t, t + TimeDelta::milliseconds(1)).is_ok());
    }

    #[test]
    fn windows_deserialize_from_rfc3339_with_offsets_and_are_checked() {
        let w: Window = serde_json::from_str(
            r#"{"opens_at":"2018-03-01T00:00:00+08:00","closes_at":"2018-03-23T23:59:59.999+08:00"}"#,
        )
        .unwrap();
        assert_eq!(w.closes_at(), end_of_day_shanghai(date(2018, 3, 23)));
        let bad = serde_json::from_str::<Window>(
            r#"{"opens_at":"2018-03-23T00:00:00Z","closes_at":"2018-03-01T00:00:00Z"}"#,
        );
        assert!(bad.is_err());
    }

    #[test]
    fn a_pledge_needs_a_short_version_and_a_text() {
        assert!(Pledge::new("2018-1", "本人承诺……").is_ok());
        assert_eq!(Pledge::new(" ", "x").unwrap_err().code, "pledge.version");
        assert_eq!(
            Pledge::new(&"v".repeat(51), "x").unwrap_err().code,
            "pledge.version"
        );
        assert!(Pledge::new(&"版".repeat(50), "x").is_ok());
        assert_eq!(Pledge::new("1", " \n").unwrap_err().code, "pledge.text");
        assert!(serde_json::from_str::<Pledge>(r#"{"version":"","text":"x"}"#).is_err());
    }

    #[test]
    fn only_the_current_pledge_version_accepted_counts() {
        let p = Pledge::new("2018-1", "本人承诺……").unwrap();
        assert!(p.check_accepted(Some("2018-1"), true).is_ok());
        for (v, ok) in [
            (Some("2017-2"), true),
            (Some("2018-1"), false),
            (None, true),
        ] {
            let err = p.check_accepted(v, ok).unwrap_err();
            assert_eq!(err.code, "pledge.not_accepted");
        }
    }

    #[test]
    fn a_round_checks_each_window_apart() {
        let round = Round {
            id: Uuid::nil(),
            name: "2018年".into(),
            prior_degree_window: Window::shanghai_days(date(2018, 3, 1), date(2018, 3, 23))
                .unwrap(),
            certification_window: seed_certification_window(),
            pledge: Pledge::new("1", "本人承诺").unwrap(),
            catalog_version: Uuid::nil(),
        };
        let march_24 = utc(2018, 3, 24, 1, 0, 0);
        assert_eq!(
            round.check_prior_degree_open(march_24).unwrap_err().code,
            "window.closed"
        );
        assert!(!round.is_open(march_24));
        let sept = utc(2018, 9, 10, 0, 0, 0);
        assert!(round.check_certification_open(sept).is_ok());
        assert!(round.check_prior_degree_open(sept).is_err());
        assert!(Round::check_name(" ").is_err());
        let json = serde_json::to_value(&round).unwrap();
        let back: Round = serde_json::from_value(json).unwrap();
        assert_eq!(back, round);
    }

    proptest! {
        #[test]
        fn end_of_day_is_always_the_last_millisecond_before_the_next_start(
            days in 0i64..60_000,
        ) {
            let d = date(1991, 1, 1) + TimeDelta::days(days);
            let end = end_of_day_shanghai(d);
            prop_assert_eq!(end + TimeDelta::milliseconds(1), start_of_day_shanghai(d.succ_opt().unwrap()));
            prop_assert_eq!(end.with_timezone(&shanghai()).date_naive(), d);
        }

        #[test]
        fn open_iff_between_both_ends_inclusive(
            open in 0i64..1_000_000, len in 1i64..1_000_000, probe in -10i64..2_000_010,
        ) {
            let base = utc(2018, 1, 1, 0, 0, 0);
            let w = Window::new(base + TimeDelta::seconds(open), base + TimeDelta::seconds(open + len)).unwrap();
            let now = base + TimeDelta::seconds(probe);
            let expected = open <= probe && probe <= open + len;
            prop_assert_eq!(w.is_open(now), expected);
            prop_assert_eq!(w.check_open(now).is_ok(), expected);
        }
    }
}
