// Binding of semeq::Processor (bindings/processor.cpp), added to the module by module.cpp.
#pragma once

#include <pybind11/pybind11.h>

void bindProcessor(pybind11::module_& m);
