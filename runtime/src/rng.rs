use rand::SeedableRng;

/// The random generator behind initialization, shuffling and dropout: small, fast, and
/// reproducible from a seed on every platform.
pub type Rng = rand_xoshiro::Xoshiro256PlusPlus;

/// A seed that fixes everything random in a run.
///
/// ```
/// use strata_runtime::Seed;
/// let mut a = Seed(7).rng();
/// let mut b = Seed(7).rng();
/// assert_eq!(rand::Rng::random::<u64>(&mut a), rand::Rng::random::<u64>(&mut b));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Seed(pub u64);

impl Seed {
    /// A generator started from this seed.
    pub fn rng(self) -> Rng {
        Rng::seed_from_u64(self.0)
    }

    /// A seed for an independent stream, derived from this one and `stream`.
    pub fn derive(self, stream: u64) -> Seed {
        // SplitMix64's finalizer: nearby streams get unrelated seeds.
        let mut z = self.0 ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Seed(z ^ (z >> 31))
    }
}

impl From<u64> for Seed {
    fn from(seed: u64) -> Self {
        Seed(seed)
    }
}
