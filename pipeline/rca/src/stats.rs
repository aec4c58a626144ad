//! Small statistics: percentiles of a sample and the binomial tail.

/// The `p`-th percentile (0..=100) of `values` by the nearest-rank method; `None` when empty.
/// The input order does not matter. Written out rather than taken from a statistics crate: it is
/// a sort and an index, and the golden scenarios depend on this exact definition (a value of the
/// sample, never an interpolation).
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// P(X ≥ k) for X ~ Binomial(n, p), computed in log space so large `n` does not underflow.
pub fn binomial_tail(k: u32, n: u32, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n {
        return 0.0;
    }
    if p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    let (ln_p, ln_q) = (p.ln(), (1.0 - p).ln());
    // ln pmf(i), from ln pmf(0) = n ln q upwards.
    let mut ln_pmf = f64::from(n) * ln_q;
    let mut terms = Vec::with_capacity((n - k + 1) as usize);
    for i in 0..n {
        if i >= k {
            terms.push(ln_pmf);
        }
        ln_pmf += f64::from(n - i).ln() - f64::from(i + 1).ln() + ln_p - ln_q;
    }
    terms.push(ln_pmf); // i = n
    let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = terms.iter().map(|t| (t - max).exp()).sum();
    (max + sum.ln()).exp().min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let v = [5.0, 1.0, 4.0, 2.0, 3.0];
        assert_eq!(percentile(&v, 10.0), Some(1.0));
        assert_eq!(percentile(&v, 50.0), Some(3.0));
        assert_eq!(percentile(&v, 90.0), Some(5.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn binomial_tail_matches_exact_values() {
        // P(X >= 2 | n = 3, p = 0.5) = 4/8.
        assert!((binomial_tail(2, 3, 0.5) - 0.5).abs() < 1e-12);
        // P(X >= 1 | n = 10, p = 0.1) = 1 - 0.9^10.
        assert!((binomial_tail(1, 10, 0.1) - (1.0 - 0.9f64.powi(10))).abs() < 1e-12);
        assert_eq!(binomial_tail(0, 5, 0.3), 1.0);
        assert_eq!(binomial_tail(6, 5, 0.3), 0.0);
        // Large n does not underflow.
        let tail = binomial_tail(600, 10_000, 0.05);
        assert!(tail > 0.0 && tail < 1e-3, "{tail}");
    }
}
