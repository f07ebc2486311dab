"""The release: the step above the warehouse build and the site build that makes a run public.

One run at a time per warehouse (`lock`); before anything is swapped the run is compared
with the warehouse it replaces and refused if it shrinks, goes back or runs ahead of its data
(`guard`); then the warehouse is swapped in, its figures and its staged site moved after it
(`publish`, `site`). It reads `ips_eval.warehouse` and `ips_eval.publish`; neither reads it.
The order and the rules: docs/release.md.
"""
