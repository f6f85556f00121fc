/* Node-API and libuv, referenced weakly.
 *
 * The library is preloaded into every process, not only node. Plain
 * undefined references to napi_* or uv_* make the dynamic linker fail
 * (exit 127) under LD_BIND_NOW=1 in sh, ls or python3. As weak references
 * they resolve to NULL there, and to node's own exported functions in node.
 * Every such function used anywhere in src/ must be listed here; a test
 * checks that `nm` shows no strong undefined napi_/uv_ symbol. */
#ifndef NP_NAPI_WEAK_H
#define NP_NAPI_WEAK_H

#define NAPI_VERSION 8
#include <node_api.h>
#include <uv.h>

#pragma weak napi_add_env_cleanup_hook
#pragma weak napi_call_function
#pragma weak napi_create_array
#pragma weak napi_create_function
#pragma weak napi_create_object
#pragma weak napi_create_reference
#pragma weak napi_create_string_utf8
#pragma weak napi_create_double
#pragma weak napi_create_int64
#pragma weak napi_create_uint32
#pragma weak napi_delete_reference
#pragma weak napi_get_and_clear_last_exception
#pragma weak napi_get_array_length
#pragma weak napi_get_boolean
#pragma weak napi_get_cb_info
#pragma weak napi_get_element
#pragma weak napi_get_global
#pragma weak napi_get_named_property
#pragma weak napi_get_reference_value
#pragma weak napi_get_undefined
#pragma weak napi_get_uv_event_loop
#pragma weak napi_get_value_bool
#pragma weak napi_get_value_double
#pragma weak napi_get_value_int64
#pragma weak napi_get_value_string_utf8
#pragma weak napi_is_exception_pending
#pragma weak napi_new_instance
#pragma weak napi_open_handle_scope
#pragma weak napi_close_handle_scope
#pragma weak napi_remove_env_cleanup_hook
#pragma weak napi_set_named_property
#pragma weak napi_typeof
#pragma weak napi_module_register
#pragma weak napi_get_node_version
#pragma weak napi_create_threadsafe_function
#pragma weak napi_call_threadsafe_function
#pragma weak napi_unref_threadsafe_function
#pragma weak napi_release_threadsafe_function
#pragma weak napi_get_value_uint32
#pragma weak napi_create_array_with_length
#pragma weak napi_set_element

#pragma weak uv_async_init
#pragma weak uv_async_send
#pragma weak uv_close
#pragma weak uv_hrtime
#pragma weak uv_loop_close
#pragma weak uv_loop_init
#pragma weak uv_now
#pragma weak uv_run
#pragma weak uv_signal_init
#pragma weak uv_signal_start
#pragma weak uv_signal_stop
#pragma weak uv_stop
#pragma weak uv_is_active
#pragma weak uv_timer_init
#pragma weak uv_timer_start
#pragma weak uv_timer_stop
#pragma weak uv_unref
#pragma weak uv_walk
#pragma weak uv_poll_init
#pragma weak uv_poll_start
#pragma weak uv_poll_stop
#pragma weak uv_tcp_init
#pragma weak uv_tcp_bind
#pragma weak uv_listen
#pragma weak uv_accept
#pragma weak uv_fileno
#pragma weak uv_read_start
#pragma weak uv_read_stop
#pragma weak uv_write
#pragma weak uv_strerror

#endif
