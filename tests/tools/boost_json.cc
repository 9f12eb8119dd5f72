// Boost.JSON, header-only, compiled once for the test binary: the tests read what the
// generator writes with an independent JSON parser.
#include <boost/json/src.hpp>
