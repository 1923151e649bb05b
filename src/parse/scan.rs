//! Whether a text can hold a document kopiaplan compiles, told without
//! reading it as YAML. A chart renders thousands of documents and most
//! streams hold no plan: the post-renderer must pass those through at
//! about the cost of copying them (issue 17).
//!
//! A document is compiled when its `apiVersion` starts with one of the two
//! API groups' names. A scalar's characters are its text's, except in
//! double-quoted escapes (which need a backslash) and where lines are
//! folded (which leaves a space or a line break, so a name cannot be split
//! over lines). So text that holds neither name nor a backslash holds no
//! compiled document.

use super::{PLAN_GROUP, VOLSYNC_GROUP};

/// Whether `text` (a document, or a whole stream) may hold a document
/// that [`super::role`] calls `Compiled`: `false` only when none can be
/// there.
pub fn may_be_compiled(text: &str) -> bool {
    let bytes = text.as_bytes();
    !plain(bytes) && (memchr::memchr(b'\\', bytes).is_some() || names_a_group(bytes))
}

/// Whether `bytes` are certainly ASCII (and so UTF-8) and certainly hold
/// no compiled document: no byte is above 127, none is a backslash, and
/// no `a` is six bytes before a `/`. Both names have that pair
/// (`kopiapl(a)n.dev(/)`, `volsync.b(a)ckube(/)`); Kubernetes YAML seldom
/// does (`app.kubernetes.io/`, `apps/v1` and Helm's `templates/` do not).
/// `false` asks for a closer look, never more: the answer for a stream
/// that has the pair but no name is [`may_be_compiled`]'s.
///
/// One pass does what took three (the UTF-8 check, a search for a
/// backslash, one for the pair); see `benches/compile.rs`.
pub fn plain(bytes: &[u8]) -> bool {
    scan::<false>(bytes)
}

/// [`plain`], and no `R` is eight bytes before an `L`, as in
/// `(R)esource(L)ist`: the text cannot name the ResourceList kind either
/// (a bare `kopiaplan` is a KRM function for a ResourceList).
pub fn plain_and_no_resource_list(bytes: &[u8]) -> bool {
    scan::<true>(bytes)
}

fn scan<const LIST: bool>(bytes: &[u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: `scan_avx2` needs AVX2 only, and the processor has it:
        // checked just above.
        return unsafe { scan_avx2::<LIST>(bytes) };
    }
    scan_with::<LIST>(bytes)
}

/// [`scan_with`] compiled for AVX2: 32 bytes per instruction, where the
/// baseline x86-64 build has 16.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn scan_avx2<const LIST: bool>(bytes: &[u8]) -> bool {
    scan_with::<LIST>(bytes)
}

/// Bytes looked at per block: the compiler turns a block's loop into a few
/// vector instructions without a branch.
const BLOCK: usize = 64;

/// A pair of bytes looked for: `first`, then `last` `gap` bytes after it.
struct Pair {
    first: u8,
    gap: usize,
    last: u8,
}

/// In both API groups' names.
const GROUP: Pair = Pair {
    first: b'a',
    gap: 6,
    last: b'/',
};

/// In `ResourceList`.
const RESOURCE_LIST: Pair = Pair {
    first: b'R',
    gap: 8,
    last: b'L',
};

/// How far past a byte a pair is looked for.
const REACH: usize = RESOURCE_LIST.gap;

/// [`plain`] (and with `LIST`, [`plain_and_no_resource_list`]) in safe
/// code the compiler vectorises: every byte's verdict is or-ed into its
/// lane of `seen`, whose high bits say, at the end, whether any byte was
/// above 127, a backslash or the first of a pair.
#[inline(always)]
fn scan_with<const LIST: bool>(bytes: &[u8]) -> bool {
    let mut seen = [0u8; BLOCK];
    let mut start = 0;
    while let Some(window) = bytes.get(start..start + BLOCK + REACH) {
        let (Ok(here), Ok(group), Ok(list)) = (
            <&[u8; BLOCK]>::try_from(&window[..BLOCK]),
            <&[u8; BLOCK]>::try_from(&window[GROUP.gap..GROUP.gap + BLOCK]),
            <&[u8; BLOCK]>::try_from(&window[RESOURCE_LIST.gap..]),
        ) else {
            break;
        };
        for (((lane, &byte), &group_last), &list_last) in
            seen.iter_mut().zip(here).zip(group).zip(list)
        {
            let marked = (byte == b'\\')
                | ((byte == GROUP.first) & (group_last == GROUP.last))
                | (LIST & (byte == RESOURCE_LIST.first) & (list_last == RESOURCE_LIST.last));
            *lane |= byte | 0u8.wrapping_sub(u8::from(marked));
        }
        start += BLOCK;
    }
    let pair_at = |at: usize, pair: &Pair| {
        bytes.get(at) == Some(&pair.first) && bytes.get(at + pair.gap) == Some(&pair.last)
    };
    let rest_is_plain = bytes.iter().enumerate().skip(start).all(|(at, &byte)| {
        byte.is_ascii()
            && byte != b'\\'
            && !pair_at(at, &GROUP)
            && !(LIST && pair_at(at, &RESOURCE_LIST))
    });
    rest_is_plain && seen.iter().fold(0, |all, lane| all | lane) < 0x80
}

/// Whether `bytes` hold either API group's name.
fn names_a_group(bytes: &[u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if let Some(found) = names_a_group_avx2(bytes) {
        return found;
    }
    holds_a_group_name(bytes)
}

/// One scan per name.
fn holds_a_group_name(bytes: &[u8]) -> bool {
    memchr::memmem::find(bytes, PLAN_GROUP.as_bytes()).is_some()
        || memchr::memmem::find(bytes, VOLSYNC_GROUP.as_bytes()).is_some()
}

/// [`names_a_group`] in one scan, on a processor with AVX2 (`None`
/// without): memchr's packed-pair search finds each `a` six bytes before a
/// `/`, and each is checked for a name.
#[cfg(target_arch = "x86_64")]
fn names_a_group_avx2(bytes: &[u8]) -> Option<bool> {
    use memchr::arch::all::packedpair::Pair;
    use memchr::arch::x86_64::avx2::packedpair::Finder;
    const WINDOW: &[u8; 7] = b"a_____/";
    let finder = Finder::with_pair(WINDOW, Pair::with_indices(WINDOW, 0, 6)?)?;
    let mut from = 0;
    loop {
        let rest = bytes.get(from..).unwrap_or_default();
        // The finder needs a few vectors' worth of text; the last bytes are
        // searched whole (from as far back as the longest name reaches).
        if rest.len() < finder.min_haystack_len() {
            let tail = bytes.get(from.saturating_sub(VOLSYNC_GROUP.len())..);
            return Some(holds_a_group_name(tail.unwrap_or_default()));
        }
        let Some(offset) = finder.find_prefilter(rest) else {
            return Some(false);
        };
        let candidate = from + offset;
        let before = bytes.get(..candidate + WINDOW.len()).unwrap_or_default();
        if before.ends_with(PLAN_GROUP.as_bytes()) || before.ends_with(VOLSYNC_GROUP.as_bytes()) {
            return Some(true);
        }
        from = candidate + 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What [`plain`] answers, byte by byte.
    fn plain_by_definition(bytes: &[u8]) -> bool {
        let has = |pair: &Pair| {
            bytes
                .windows(pair.gap + 1)
                .any(|w| w.first() == Some(&pair.first) && w.last() == Some(&pair.last))
        };
        bytes.is_ascii() && !bytes.contains(&b'\\') && !has(&GROUP)
    }

    /// What [`plain_and_no_resource_list`] answers, byte by byte.
    fn plain_and_no_resource_list_by_definition(bytes: &[u8]) -> bool {
        plain_by_definition(bytes)
            && !bytes
                .windows(RESOURCE_LIST.gap + 1)
                .any(|w| w.first() == Some(&b'R') && w.last() == Some(&b'L'))
    }

    #[test]
    fn only_text_that_names_a_group_or_escapes_a_character_may_be_compiled() {
        let config_map =
            "apiVersion: v1\nkind: ConfigMap\ndata: {url: 'https://x/kopiaplan.dev'}\n";
        assert!(!may_be_compiled(config_map));
        assert!(!may_be_compiled(
            "apiVersion: kopiaplan.dev\n  /v1\nkind: BackupPlan\n"
        ));
        assert!(may_be_compiled(
            "apiVersion: kopiaplan.dev/v1alpha1\nkind: BackupPlan\n"
        ));
        assert!(may_be_compiled("apiVersion: volsync.backube/v1alpha1\n"));
        // `\x2e` is a dot: the text does not hold the name, the value does.
        assert!(may_be_compiled(
            "apiVersion: \"kopiaplan\\x2edev/v1alpha1\"\n"
        ));
        // Not ASCII, so looked at closely: no name.
        assert!(!may_be_compiled("data: {motd: \"grüß dich\"}\n"));
        assert!(may_be_compiled("# grüß\napiVersion: kopiaplan.dev/v1\n"));
    }

    /// The one-scan search finds a name wherever it is, in text of any
    /// length, next to near misses (`a` six bytes before another `/`).
    #[test]
    fn group_names_are_found_at_every_offset() {
        let filler = "apps/v1 a12345/ kopiaplan.dev volsync.backube:/ x";
        let mut found = [0, 0];
        for name in [
            PLAN_GROUP,
            VOLSYNC_GROUP,
            "kopiaplan.de/",
            "olsync.backube/",
        ] {
            for length in 0..100 {
                for offset in 0..=length {
                    let mut text: String = filler.chars().cycle().take(length).collect();
                    text.insert_str(offset, name);
                    let expected = holds_a_group_name(text.as_bytes());
                    assert_eq!(names_a_group(text.as_bytes()), expected, "{text:?}");
                    found[usize::from(expected)] += 1;
                }
            }
        }
        assert!(found[0] > 5000 && found[1] > 5000, "{found:?}");
    }

    /// Whatever it is and wherever it is (in a block, across two, in the
    /// bytes after the last block), one byte above 127, one backslash or
    /// one pair makes plain text not plain.
    #[test]
    fn one_mark_anywhere_makes_text_not_plain() {
        let filler = b"apiVersion: apps/v1\nkind: Deployment # a/b a12/ 9a/ \n";
        let marks: [&[u8]; 7] = [
            b"\\",
            b"\xc3\xa9",
            b"\x80",
            b"\xff",
            b"a_____/",
            b"a\n\n\n\n\n/",
            PLAN_GROUP.as_bytes(),
        ];
        let mut checked = 0;
        for length in 0..(3 * BLOCK + 2 * REACH) {
            let text: Vec<u8> = filler.iter().copied().cycle().take(length).collect();
            assert!(plain(&text), "{:?}", String::from_utf8_lossy(&text));
            assert!(plain_and_no_resource_list(&text));
            assert!(scan_with::<false>(&text) && scan_with::<true>(&text));
            for mark in marks {
                for at in 0..=length {
                    let mut marked = text.clone();
                    marked.splice(at..at, mark.iter().copied());
                    assert!(!plain(&marked), "{:?}", String::from_utf8_lossy(&marked));
                    assert!(!plain_and_no_resource_list(&marked));
                    assert!(!scan_with::<false>(&marked) && !scan_with::<true>(&marked));
                    checked += 1;
                }
            }
        }
        assert!(checked > 10_000, "{checked}");
    }

    #[test]
    fn a_pair_further_or_nearer_than_six_bytes_is_plain() {
        for gap in [0, 1, 4, 6, 7, 40] {
            for lead in 0..(2 * BLOCK) {
                let mut text = vec![b' '; lead];
                text.push(b'a');
                text.extend(std::iter::repeat_n(b'x', gap));
                text.push(b'/');
                text.extend(std::iter::repeat_n(b' ', BLOCK));
                assert!(plain(&text), "gap {gap}, lead {lead}");
            }
        }
    }

    /// `R` eight bytes before `L`, wherever it is, names the ResourceList
    /// kind as far as a bare `kopiaplan` can tell; nearer or further, it
    /// does not, and neither pair is [`plain`]'s business.
    #[test]
    fn only_r_eight_bytes_before_l_may_name_a_resource_list() {
        for lead in 0..(3 * BLOCK) {
            for (between, names) in [(7, true), (0, false), (6, false), (8, false)] {
                let mut text = vec![b' '; lead];
                text.push(b'R');
                text.extend(std::iter::repeat_n(b'x', between));
                text.push(b'L');
                text.extend(std::iter::repeat_n(b' ', lead % 11));
                assert!(plain(&text));
                assert_eq!(
                    plain_and_no_resource_list(&text),
                    !names,
                    "{lead} {between}"
                );
            }
            let mut text = vec![b' '; lead];
            text.extend(b"kind: ResourceList\n");
            assert!(!plain_and_no_resource_list(&text), "{lead}");
        }
    }

    proptest! {
        /// `plain` is its definition on any bytes, mostly ASCII from a
        /// few letters, so that pairs are common.
        #[test]
        fn plain_is_what_it_says(
            bytes in proptest::collection::vec(
                prop_oneof![
                    100 => proptest::sample::select(b"a/ :-\nkRL".to_vec()),
                    1 => Just(b'\\'),
                    1 => any::<u8>(),
                ],
                0..200,
            )
        ) {
            prop_assert_eq!(plain(&bytes), plain_by_definition(&bytes));
            prop_assert_eq!(scan_with::<false>(&bytes), plain_by_definition(&bytes));
            let no_list = plain_and_no_resource_list_by_definition(&bytes);
            prop_assert_eq!(plain_and_no_resource_list(&bytes), no_list);
            prop_assert_eq!(scan_with::<true>(&bytes), no_list);
            // Plain text is UTF-8 that cannot hold a compiled document.
            if plain(&bytes) {
                let text = std::str::from_utf8(&bytes);
                prop_assert!(text.is_ok_and(|text| !may_be_compiled(text)
                    && !names_a_group(text.as_bytes())));
            }
        }
    }
}
