// Binding of the engine's analysis parts (bindings/analysis.cpp), added to the module by module.cpp.
#pragma once

#include <pybind11/pybind11.h>

void bindAnalysis(pybind11::module_& m);
