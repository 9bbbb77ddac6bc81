from .registry import create_accountant


def get_noise_multiplier(*, target_epsilon, target_delta, sample_rate, steps,
                         accountant="rdp", epsilon_tolerance=0.01):
    """Bisection on sigma, setting `history` directly (the way Opacus's helper drives an
    accountant)."""
    acc = create_accountant(mechanism=accountant)
    lo, hi = 0.0, 10.0
    while True:
        acc.history = [(hi, sample_rate, steps)]
        eps_hi = acc.get_epsilon(delta=target_delta)
        if eps_hi <= target_epsilon:
            break
        lo, hi = hi, 2 * hi
    while target_epsilon - eps_hi > epsilon_tolerance:
        mid = (lo + hi) / 2
        acc.history = [(mid, sample_rate, steps)]
        eps = acc.get_epsilon(delta=target_delta)
        if eps < target_epsilon:
            hi, eps_hi = mid, eps
        else:
            lo = mid
    return hi
