"""The attack lab: published attacks on Bloom-filter encodings, run against mimamori's own
encodings and clkhash's, by an attacker who holds a plaintext population list but not the key."""
