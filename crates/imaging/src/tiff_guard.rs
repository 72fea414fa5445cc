//! A look at a TIFF's directories before `image` opens it.
//!
//! `image` hands its own limits to the `tiff` decoder only after the decoder is built,
//! and building it reads the first directory's tag values at whatever size the file
//! claims: a flipped bit in a count made it allocate 100–250 MB for a 9 KB file, which
//! traps a 128 MiB instance. No tag value can be larger than the file that holds it, so
//! a directory that claims one is refused here, before any allocation.

use crate::Error;

/// At most this many directories are walked (a loop of offsets ends here too).
const MAX_IFDS: usize = 64;

/// Refuses a classic TIFF whose directory entries claim values larger than the file.
/// BigTIFF and anything unreadable pass through: the decoder reports those itself.
pub(crate) fn check(bytes: &[u8]) -> Result<(), Error> {
    let little = match bytes.get(..4) {
        Some(b"II*\0") => true,
        Some(b"MM\0*") => false,
        _ => return Ok(()),
    };
    let u16_at = |at: usize| -> Option<u64> {
        let b: [u8; 2] = bytes.get(at..at + 2)?.try_into().ok()?;
        Some(u64::from(if little { u16::from_le_bytes(b) } else { u16::from_be_bytes(b) }))
    };
    let u32_at = |at: usize| -> Option<u64> {
        let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        Some(u64::from(if little { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) }))
    };
    let len = bytes.len() as u64;
    let mut offset = u32_at(4).unwrap_or(0);
    for _ in 0..MAX_IFDS {
        if offset == 0 {
            break;
        }
        let Ok(at) = usize::try_from(offset) else {
            break;
        };
        let Some(entries) = u16_at(at) else {
            break;
        };
        for i in 0..entries as usize {
            let entry = at + 2 + 12 * i;
            let (Some(kind), Some(count)) = (u16_at(entry + 2), u32_at(entry + 4)) else {
                return Ok(());
            };
            if count.saturating_mul(value_size(kind)) > len {
                return Err(Error::Corrupt(format!(
                    "a TIFF tag claims {count} values, more than the {len}-byte file holds"
                )));
            }
        }
        offset = u32_at(at + 2 + 12 * entries as usize).unwrap_or(0);
    }
    Ok(())
}

/// Bytes per value of TIFF field type `kind` (unknown types count as 1).
fn value_size(kind: u64) -> u64 {
    match kind {
        3 | 8 => 2,
        4 | 9 | 11 | 13 => 4,
        5 | 10 | 12 | 16 | 17 | 18 => 8,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A little-endian TIFF header and one directory holding `count` LONG values.
    fn tiff_claiming(count: u32) -> Vec<u8> {
        let mut b = b"II*\0".to_vec();
        b.extend_from_slice(&8u32.to_le_bytes());
        b.extend_from_slice(&1u16.to_le_bytes());
        b.extend_from_slice(&273u16.to_le_bytes()); // StripOffsets
        b.extend_from_slice(&4u16.to_le_bytes());
        b.extend_from_slice(&count.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&0u32.to_le_bytes());
        b.resize(64, 0);
        b
    }

    #[test]
    fn values_larger_than_the_file_are_refused() {
        assert!(check(&tiff_claiming(1)).is_ok());
        assert!(check(&tiff_claiming(16)).is_ok());
        assert!(matches!(check(&tiff_claiming(17)), Err(Error::Corrupt(_))));
        assert!(matches!(check(&tiff_claiming(u32::MAX)), Err(Error::Corrupt(_))));
        assert!(check(b"not a tiff").is_ok());
        assert!(check(b"II*\0").is_ok());
    }
}
