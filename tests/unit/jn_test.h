/* jn_test.h: the includes every cmocka unit test needs, in the order cmocka wants. */
#ifndef JN_TEST_H
#define JN_TEST_H
#include "core/common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#endif
