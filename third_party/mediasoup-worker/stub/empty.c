/*
 * Source of the empty static libraries the shims hand to the worker's
 * `link_whole` list. The worker links the Debian shared libraries through the
 * *_dep variables; `link_whole` is only used by the non-default
 * libmediasoup-worker target, which still needs *some* library object.
 */
void vasms_worker_shim_empty(void) {}
