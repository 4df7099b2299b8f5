"""Machinery shared by probes: slice search, group metrics, shrinking.

- ``slice_codes``: columns as small codes and the basic conditions over them,
  planned on the audit's sample and counted partition by partition (``SliceRows``);
- ``slice_search``: the SliceLine search over conjunctions of conditions;
- ``slice_stats``: a slice's score, its p-values and the correction over the slices tried;
- ``shrinking``: a searched slice shrunk to its smallest reproducer;
- ``groups``: who belongs to which group of a sensitive feature;
- ``group_metrics``: confusion counts and error sums per group, mergeable (``GroupCounts``);
- ``disparities``: the gaps between groups, with bootstrap intervals and tests;
- ``exact_sums``: float sums that do not depend on how the rows were split.
"""
