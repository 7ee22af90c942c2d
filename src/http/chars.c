#include "http/chars.h"

/* GNU range designators keep the tables readable and computed at compile time. */
const uint8_t jn_http_tchar[256] = {
    ['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1, ['!'] = 1, ['#'] = 1,
    ['$'] = 1,         ['%'] = 1,         ['&'] = 1,         ['\''] = 1, ['*'] = 1,
    ['+'] = 1,         ['-'] = 1,         ['.'] = 1,         ['^'] = 1, ['_'] = 1,
    ['`'] = 1,         ['|'] = 1,         ['~'] = 1,
};

const uint8_t jn_http_vchar[256] = {
    ['\t'] = 1,
    [' ' ... '~'] = 1,
    [0x80 ... 0xff] = 1,
};

const uint8_t jn_http_hexval[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,  ['6'] = 7,
    ['7'] = 8,  ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12, ['c'] = 13, ['d'] = 14,
    ['e'] = 15, ['f'] = 16, ['A'] = 11, ['B'] = 12, ['C'] = 13, ['D'] = 14, ['E'] = 15,
    ['F'] = 16,
};

#define L4(c) c, c + 1, c + 2, c + 3
#define L16(c) L4(c), L4(c + 4), L4(c + 8), L4(c + 12)
const uint8_t jn_http_lower[256] = {
    L16(0x00), L16(0x10), L16(0x20), L16(0x30),
    /* '@' 'A'..'O' and 'P'..'Z' '[' '\\' ']' '^' '_': only the letters move */
    0x40, L4(0x61), L4(0x65), L4(0x69), 0x6d, 0x6e, 0x6f,
    L4(0x70), L4(0x74), 0x78, 0x79, 0x7a, 0x5b, 0x5c, 0x5d, 0x5e, 0x5f,
    L16(0x60), L16(0x70),
    L16(0x80), L16(0x90), L16(0xa0), L16(0xb0), L16(0xc0), L16(0xd0), L16(0xe0), L16(0xf0),
};
