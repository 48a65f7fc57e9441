"""The shared kernel: the leaf every app may import and that imports none of ours."""
