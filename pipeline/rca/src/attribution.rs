//! Decision and attribution: evidence is pooled per domain, domains compete in a transparent
//! noisy-OR model, and each domain's share is its exact Shapley value in that model.
//!
//! Within a domain each cause counts with its strongest evidence; the domain's strength is the
//! noisy-OR of its causes, `1 − Π(1 − s)`. A set of domains explains the degradation with
//! strength `v(T) = 1 − Π_{g∈T}(1 − S_g)`. That game is monotone, so every Shapley value is
//! non-negative; by efficiency they add up to `v(all)`, and dividing by it gives shares that sum
//! to 1. With at most six domains the exact computation visits 64 coalitions.

use crate::features::FEATURES;
use callsight_model::types::{CauseCode, Evidence, EvidenceGroup};
use std::collections::BTreeMap;

/// One domain's pooled strength and its strongest cause.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupStrength {
    /// Domain.
    pub group: EvidenceGroup,
    /// Strongest cause within it.
    pub cause: CauseCode,
    /// Noisy-OR of its causes' strongest scores, 0..1.
    pub strength: f64,
}

/// Pools evidence per domain, strongest domain first (ties: domain order).
pub fn group_strengths(evidence: &[Evidence]) -> Vec<GroupStrength> {
    // group -> cause -> strongest score
    let mut best: BTreeMap<EvidenceGroup, BTreeMap<CauseCode, f64>> = BTreeMap::new();
    for e in evidence {
        let slot = best
            .entry(e.group)
            .or_default()
            .entry(e.cause)
            .or_insert(0.0);
        *slot = slot.max(e.score);
    }
    let mut groups: Vec<GroupStrength> = best
        .into_iter()
        .map(|(group, causes)| {
            let strength = 1.0 - causes.values().map(|s| 1.0 - s).product::<f64>();
            // Strongest cause; ties go to the cause of the earlier feature.
            let cause = causes
                .iter()
                .max_by(|(ca, sa), (cb, sb)| {
                    sa.total_cmp(sb)
                        .then_with(|| cause_rank(**cb).cmp(&cause_rank(**ca)))
                })
                .map(|(c, _)| *c)
                .unwrap_or(CauseCode::UnknownOther);
            GroupStrength {
                group,
                cause,
                strength,
            }
        })
        .collect();
    groups.sort_by(|a, b| {
        b.strength
            .total_cmp(&a.strength)
            .then(a.group.cmp(&b.group))
    });
    groups
}

fn cause_rank(cause: CauseCode) -> usize {
    FEATURES
        .iter()
        .position(|f| f.cause == cause)
        .unwrap_or(usize::MAX)
}

/// The value of a coalition (bit mask over `strengths`) in the noisy-OR game.
fn value(strengths: &[f64], coalition: u32) -> f64 {
    1.0 - strengths
        .iter()
        .enumerate()
        .filter(|(i, _)| coalition & (1 << i) != 0)
        .map(|(_, s)| 1.0 - s)
        .product::<f64>()
}

/// Exact Shapley values of the noisy-OR game over `strengths` (at most 16 players).
pub fn shapley(strengths: &[f64]) -> Vec<f64> {
    let n = strengths.len();
    assert!(n <= 16, "exact Shapley values over {n} players");
    let factorial = |k: usize| (1..=k).map(|x| x as f64).product::<f64>();
    let total = factorial(n);
    (0..n)
        .map(|i| {
            let mut phi = 0.0;
            for coalition in 0u32..(1 << n) {
                if coalition & (1 << i) != 0 {
                    continue;
                }
                let size = coalition.count_ones() as usize;
                let weight = factorial(size) * factorial(n - size - 1) / total;
                phi +=
                    weight * (value(strengths, coalition | (1 << i)) - value(strengths, coalition));
            }
            phi
        })
        .collect()
}

/// Shares of the degradation per domain, summing to 1, and the explained strength `v(all)`.
pub fn shares(groups: &[GroupStrength]) -> (Vec<f64>, f64) {
    let strengths: Vec<f64> = groups.iter().map(|g| g.strength).collect();
    let phi = shapley(&strengths);
    let total = value(&strengths, (1u32 << strengths.len()) - 1);
    if total <= 0.0 {
        return (vec![0.0; groups.len()], 0.0);
    }
    (phi.iter().map(|p| (p / total).max(0.0)).collect(), total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_player_takes_everything() {
        assert_eq!(shapley(&[0.7]), vec![0.7]);
        let (s, total) = shares(&[GroupStrength {
            group: EvidenceGroup::Wired,
            cause: CauseCode::WiredPortErrors,
            strength: 0.7,
        }]);
        assert_eq!(s, vec![1.0]);
        assert!((total - 0.7).abs() < 1e-12);
    }

    #[test]
    fn two_players_split_the_interaction_equally() {
        // v({a}) = 0.8, v({b}) = 0.5, v({a,b}) = 0.9: phi_a = (0.8 + 0.4)/2, phi_b = (0.5 + 0.1)/2.
        let phi = shapley(&[0.8, 0.5]);
        assert!((phi[0] - 0.6).abs() < 1e-12, "{phi:?}");
        assert!((phi[1] - 0.3).abs() < 1e-12, "{phi:?}");
    }

    #[test]
    fn shapley_values_add_up_to_the_grand_coalition() {
        let strengths = [0.9, 0.2, 0.55, 0.7, 0.1, 0.35];
        let phi = shapley(&strengths);
        let total: f64 = phi.iter().sum();
        assert!((total - value(&strengths, 0b111111)).abs() < 1e-12);
        assert!(phi.iter().all(|p| *p >= 0.0));
    }
}
