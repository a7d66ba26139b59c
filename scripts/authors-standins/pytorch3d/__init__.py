"""Stand-in for pytorch3d: `ops.knn_points` / `ops.knn_gather` as pytorch3d computes them on the CPU (see ops/)."""
