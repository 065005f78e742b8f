//! Finding an id or an address used twice in a list without holding its rows: the one check
//! that needs the whole list, shared by the whole-list decode and the streamed reader.

use std::collections::HashSet;

use super::format::FormatError;
use super::list::id_number;
use super::record::{Channel, Subscriber, mask};

/// Finds an id or an address used twice without holding the rows: ids of the usual shape and
/// phone numbers (up to 15 digits, as E.164 allows) are held as 8-byte numbers, anything else as
/// text. Exact, no hashing of the values themselves, so no false alarm and no miss.
#[derive(Debug, Default)]
pub struct DuplicateCheck {
    ids: HashSet<u64>,
    other_ids: HashSet<Box<str>>,
    phones: HashSet<u64>,
    other_addresses: HashSet<(Channel, Box<str>)>,
}

impl DuplicateCheck {
    /// The same errors, on the same line, as the whole-list decode gives.
    pub fn check(&mut self, line: u64, s: &Subscriber) -> Result<(), FormatError> {
        let new_id = match id_number(&s.id) {
            Some(n) => self.ids.insert(n),
            None => self.other_ids.insert(s.id.as_str().into()),
        };
        if !new_id {
            return Err(FormatError::Row {
                line,
                message: format!("die ID `{}` kommt zweimal vor", s.id),
            });
        }
        let new_address = match phone_number(s.channel, &s.address) {
            Some(n) => self.phones.insert(n),
            None => self
                .other_addresses
                .insert((s.channel, s.address.as_str().into())),
        };
        if !new_address {
            return Err(FormatError::Row {
                line,
                message: format!(
                    "{} {} steht zweimal in der Liste",
                    s.channel,
                    mask(&s.address)
                ),
            });
        }
        Ok(())
    }
}

/// `+` and up to 15 digits on a phone channel as one number: the digits' value, their count
/// (so `+049…` and `+49…` stay apart) and the channel each get their own bits.
fn phone_number(channel: Channel, address: &str) -> Option<u64> {
    let tag: u64 = match channel {
        Channel::WhatsApp => 1,
        Channel::Sms => 2,
        _ => return None,
    };
    let digits = address.strip_prefix('+')?;
    if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // 10^15 < 2^50: the value takes 50 bits, the count 4 more, the channel sits above.
    let value: u64 = digits.parse().ok()?;
    Some(value | (digits.len() as u64) << 50 | tag << 54)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_pack_without_aliasing() {
        let n = |c, a| phone_number(c, a);
        assert_ne!(
            n(Channel::WhatsApp, "+49151"),
            n(Channel::WhatsApp, "+049151")
        );
        assert_ne!(n(Channel::WhatsApp, "+49151"), n(Channel::Sms, "+49151"));
        assert_eq!(
            n(Channel::WhatsApp, "+999999999999999").map(|v| v & ((1 << 50) - 1)),
            Some(999_999_999_999_999)
        );
        assert_eq!(
            n(Channel::WhatsApp, "+1234567890123456"),
            None,
            "16 digits: held as text"
        );
        assert_eq!(n(Channel::Email, "+49151"), None);
    }
}
