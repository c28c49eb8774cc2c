// Quoted("a\nb") is "\"a\\nb\"": a value from input, quoted for an error message or a log line.
// Quotes and backslashes are escaped, control characters and bytes that are not UTF-8 become
// \n, \t, \r or \xNN, so a message is always one line of valid UTF-8 whatever the input held.
#pragma once

#include <string>
#include <string_view>

namespace podshim {

std::string Quoted(std::string_view s);

}  // namespace podshim
