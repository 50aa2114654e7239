// libFuzzer target: parse_cpu_list (sockfilter/cpus.hpp) on arbitrary text (what
// /sys/devices/system/cpu/possible holds). A successful parse names at least one CPU, strictly increasing,
// each below 65536; printing the CPUs back as a list and parsing that gives the same CPUs.
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "sockfilter/cpus.hpp"

using sockfilter_fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto cpus = sockfilter::parse_cpu_list(text);
    if (!cpus) {
        check(cpus.error().kind() == sockfilter::ErrorKind::InvalidArgument, "a bad CPU list is InvalidArgument");
        return 0;
    }
    check(!cpus->empty(), "a CPU list names a CPU");
    for (std::size_t i = 0; i < cpus->size(); ++i) {
        check((*cpus)[i] < 65536, "CPU numbers are below 65536");
        check(i == 0 || (*cpus)[i - 1] < (*cpus)[i], "CPUs are strictly increasing");
    }
    std::string printed;
    for (const std::uint32_t cpu : *cpus) printed += (printed.empty() ? "" : ",") + std::to_string(cpu);
    const auto again = sockfilter::parse_cpu_list(printed);
    check(again && *again == *cpus, "the CPUs printed back parse to the same CPUs");
    return 0;
}
