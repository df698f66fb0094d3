"""The generative models of graphs/digits_vae.yaml and graphs/digits_gan.yaml
in PyTorch, initialized as Keel initializes them rather than as torch does.

Keel's schemes (plugins/nn/linear.cpp, engine/planner/init.cpp,
plugins/batchnorm): every linear weight [units, in] is he_uniform,
U(±sqrt(6 / in)), every bias zero; batchnorm gamma 1, beta 0, running mean
0, running variance 1, momentum 0.1, epsilon 1e-5 (torch's BatchNorm1d
defaults, same update: biased variance to normalize, unbiased for the
running estimate). torch.nn.Linear would draw U(±1/sqrt(in)) instead, a
sqrt(6) narrower start, so the weights are redrawn here.

Inputs are pixels / 16 (0..1), as the graphs scale them.
"""
import math

import torch
from torch import nn
import torch.nn.functional as F

LATENT_VAE = 12
LATENT_GAN = 16
WIDTH = 128
PIXELS = 64


def keel_linear(n_in, units):
    """nn.Linear with Keel's linear init: he_uniform weight, zero bias."""
    layer = nn.Linear(n_in, units)
    bound = math.sqrt(6.0 / n_in)
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound)
        layer.bias.zero_()
    return layer


def keel_batchnorm(width):
    # torch's defaults are Keel's: momentum 0.1, eps 1e-5, gamma 1, beta 0.
    return nn.BatchNorm1d(width, eps=1e-5, momentum=0.1)


class ResidualMLP(nn.Module):
    """fc1 -> bn1 -> relu (a1) -> fc2 -> bn2 -> relu -> + a1: the trunk the
    VAE's encoder and decoder share in shape (not in weights)."""

    def __init__(self, n_in):
        super().__init__()
        self.fc1, self.bn1 = keel_linear(n_in, WIDTH), keel_batchnorm(WIDTH)
        self.fc2, self.bn2 = keel_linear(WIDTH, WIDTH), keel_batchnorm(WIDTH)

    def forward(self, x):
        a1 = torch.relu(self.bn1(self.fc1(x)))
        return torch.relu(self.bn2(self.fc2(a1))) + a1


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = ResidualMLP(PIXELS)
        self.mu = keel_linear(WIDTH, LATENT_VAE)
        self.logvar = keel_linear(WIDTH, LATENT_VAE)
        self.dec = ResidualMLP(LATENT_VAE)
        self.logits = keel_linear(WIDTH, PIXELS)

    def decode(self, z):
        """Pixel logits of latent codes z [N, 12]."""
        return self.logits(self.dec(z))

    def forward(self, x, eps=None):
        """x in 0..1 [N, 64] -> (logits, mu, logvar). Training draws
        z = mu + exp(0.5 logvar) * eps; evaluation uses z = mu."""
        h = self.enc(x)
        mu, logvar = self.mu(h), self.logvar(h)
        if self.training:
            if eps is None:
                eps = torch.randn_like(mu)
            z = mu + torch.exp(0.5 * logvar) * eps
        else:
            z = mu
        return self.decode(z), mu, logvar

    @staticmethod
    def loss(logits, mu, logvar, x):
        """Negative ELBO in nats per image: 64 * mean BCE-with-logits (the
        per-image reconstruction sum, averaged over the batch) + KL to
        N(0, I) summed over the latent dimensions, averaged over the batch."""
        recon = PIXELS * F.binary_cross_entropy_with_logits(logits, x)
        kl = (-0.5 * (1.0 + logvar - mu * mu - torch.exp(logvar)).sum(dim=1)).mean()
        return recon + 1.0 * kl

    @torch.no_grad()
    def sample(self, z):
        """Images in 0..1 [N, 64] of latent codes z ~ N(0, I), evaluation mode."""
        was = self.training
        self.eval()
        out = torch.sigmoid(self.decode(z))
        self.train(was)
        return out


class Generator(nn.Module):
    def __init__(self, batchnorm=True):
        super().__init__()
        self.g_fc1, self.g_fc2 = keel_linear(LATENT_GAN, WIDTH), keel_linear(WIDTH, WIDTH)
        norm = keel_batchnorm if batchnorm else (lambda w: nn.Identity())
        self.g_bn1, self.g_bn2 = norm(WIDTH), norm(WIDTH)
        self.g_out = keel_linear(WIDTH, PIXELS)

    def forward(self, z):
        h = torch.relu(self.g_bn1(self.g_fc1(z)))
        h = torch.relu(self.g_bn2(self.g_fc2(h)))
        return torch.sigmoid(self.g_out(h))


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.d_fc1, self.d_fc2 = keel_linear(PIXELS, WIDTH), keel_linear(WIDTH, 64)
        self.d_out = keel_linear(64, 1)

    def forward(self, x):
        h = F.leaky_relu(self.d_fc1(x), 0.2)
        h = F.leaky_relu(self.d_fc2(h), 0.2)
        return self.d_out(h)


class GAN(nn.Module):
    def __init__(self, batchnorm=True):
        super().__init__()
        self.G = Generator(batchnorm)
        self.D = Discriminator()

    def discriminate(self, real, fake):
        """D on concat(real, fake) along the batch, split back into the
        real and the fake halves' logits (one D pass, as the graph does)."""
        logits = self.D(torch.cat([real, fake], dim=0))
        return logits[: len(real)], logits[len(real) :]

    @torch.no_grad()
    def sample(self, z):
        """Images in 0..1 [N, 64] from z ~ N(0, I) [N, 16], G in evaluation mode."""
        was = self.G.training
        self.G.eval()
        out = self.G(z)
        self.G.train(was)
        return out
