/**
 * The largest grace period (terminationGracePeriodSeconds, deletionGracePeriodSeconds, a DELETE's
 * gracePeriodSeconds) accepted anywhere. Kubernetes validates these only as ≥ 0 int64, but its own
 * code turns them into a Go time.Duration (int64 nanoseconds: seconds × 1e9), which overflows above
 * 9,223,372,036 s (≈ 292 years); so no larger value has a meaning there either. Refusing it at decode
 * (with the field's name) also keeps `now + grace` a valid date (JavaScript dates end at 8.64e15 ms).
 */
export const MAX_GRACE_PERIOD_SECONDS = 9_223_372_036;
