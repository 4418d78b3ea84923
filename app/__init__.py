"""chainlens: computation graphs, values, gradients and every chain-rule step of a user's program."""
