//! RFC 3339 timestamps from microseconds since the Unix epoch, without a date crate:
//! the API only ever formats UTC times at second precision.

/// `2026-11-22T12:00:00Z` for `micros` since 1970-01-01T00:00:00Z (sub-seconds dropped).
pub fn rfc3339_utc(micros: u64) -> String {
    let secs = micros / 1_000_000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Howard Hinnant's `civil_from_days` for non-negative day counts: (year, month, day).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097; // [0, 146096]
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_utc(1_795_348_800_000_000), "2026-11-22T12:00:00Z");
        assert_eq!(rfc3339_utc(951_782_400_999_999), "2000-02-29T00:00:00Z"); // leap day
        assert_eq!(rfc3339_utc(4_107_542_399_000_000), "2100-02-28T23:59:59Z"); // not a leap year
        assert_eq!(rfc3339_utc(4_107_542_400_000_000), "2100-03-01T00:00:00Z");
    }

    #[test]
    fn every_day_is_the_next_one() {
        // Walk 1970..2400 day by day: dates strictly increase and months stay valid.
        let mut prev = (1969, 12, 31);
        for day in 0..156_000u64 {
            let (y, m, d) = civil_from_days(day);
            assert!((1..=12).contains(&m) && (1..=31).contains(&d));
            assert!((y, m, d) > prev);
            if d != 1 {
                assert_eq!((y, m), (prev.0, prev.1));
                assert_eq!(d, prev.2 + 1);
            }
            prev = (y, m, d);
        }
    }
}
