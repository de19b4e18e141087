"""The Python module's ctypes copy of flashc_attention_params has the C
struct's fields, in its order and with matching types: a field added to
the header but not here makes the library read past Python's struct."""
import ctypes
import os
import re
import sys

import flashc

header = open(os.path.join(os.environ["FLASHC_SRC"], "include", "flashc-c",
                           "compiler.h")).read()
body = re.search(r"typedef struct flashc_attention_params \{(.*?)\} "
                 r"flashc_attention_params;", header, re.S).group(1)
body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
c_fields = []
for line in body.split(";"):
    line = line.strip()
    if not line:
        continue
    ctype, names = re.match(r"(const char \*|int64_t|int|float|flashc_dtype)\s*(.*)",
                            line).groups()
    for name in names.replace("*", "").split(","):
        c_fields.append((name.strip(), ctype.strip()))
CTYPES = {"int64_t": ctypes.c_int64, "int": ctypes.c_int, "float": ctypes.c_float,
          "flashc_dtype": ctypes.c_int, "const char *": ctypes.c_char_p}
py_fields = flashc._Params._fields_
for (c_name, c_type), (py_name, py_type) in zip(c_fields, py_fields):
    if c_name != py_name or CTYPES[c_type] is not py_type:
        print(f"mismatch: C {c_type} {c_name}, Python {py_name} {py_type.__name__}")
        sys.exit(1)
if len(c_fields) != len(py_fields):
    print(f"C has {len(c_fields)} fields, Python {len(py_fields)}")
    sys.exit(1)
print(f"{len(c_fields)} fields match")
