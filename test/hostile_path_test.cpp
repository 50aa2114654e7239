// Hostile paths for pins: relative, through symbolic links, with `..`, too long, with a NUL, naming a
// directory or an ordinary file, or a pin of the wrong kind; for programs, maps and an object's pin directory.
#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

#include "bpffs.hpp"
#include "fd_count.hpp"
#include "filters.hpp"
#include "loaded.hpp"
#include "objects.hpp"
#include "skip.hpp"
#include "sockfilter/map.hpp"
#include "sockfilter/object.hpp"
#include "sockfilter/program_info.hpp"
#include "sockfilter/socket_filter.hpp"

using namespace sockfilter;
using namespace sockfilter_test;

namespace {

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

// lstat: true for a dangling symbolic link too.
bool exists_here(const std::string& path) {
    struct stat status {};
    return lstat(path.c_str(), &status) == 0;
}

// Moves the process into `directory`; back to the previous working directory on destruction.
class WorkingDirectory {
public:
    explicit WorkingDirectory(const std::string& directory) : previous_(open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
        if (previous_ < 0 || chdir(directory.c_str()) != 0) throw std::runtime_error("chdir " + directory);
    }
    ~WorkingDirectory() {
        if (fchdir(previous_) != 0) std::perror("fchdir back to the previous working directory");
        close(previous_);
    }
    WorkingDirectory(const WorkingDirectory&) = delete;
    WorkingDirectory& operator=(const WorkingDirectory&) = delete;

private:
    int previous_;
};

constexpr MapSpec array_spec{.type = BPF_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 1, .name = "hostile"};

std::uint32_t program_id(const SocketFilter& filter) {
    const auto info = filter.info();
    INFO(message_of(info));
    REQUIRE(info.has_value());
    return info->id();
}

std::uint32_t map_id(const Map& map) {
    const auto info = map.info();
    INFO(message_of(info));
    REQUIRE(info.has_value());
    return info->id();
}

// The id of the program pinned at `path`; REQUIREs that it opens as a socket filter.
std::uint32_t pinned_program_id(const std::string& path) {
    const auto opened = SocketFilter::from_pin(path);
    INFO(path << ": " << message_of(opened));
    REQUIRE(opened.has_value());
    return program_id(*opened);
}

// An error result's checks: the kind, the errno (0: refused before any syscall) and words of its message.
template <typename T>
void check_refused(const Result<T>& result, ErrorKind kind, int errno_value, std::initializer_list<std::string_view> words) {
    REQUIRE_FALSE(result.has_value());
    const std::string message = result.error().message();
    INFO(message);
    CHECK(result.error().kind() == kind);
    CHECK(result.error().code().value() == errno_value);
    for (const auto word : words) CHECK(contains(message, word));
}

}  // namespace

TEST_CASE("hostile path relative to the working directory") {
    REQUIRE_FEATURE(btf);
    TempBpffs bpffs;
    REQUIRE(mkdir((bpffs / "elsewhere").c_str(), 0700) == 0);
    SocketFilter filter = loaded("hostile_rel", filters::pass);
    SocketFilter other = loaded("hostile_other", filters::drop_all);
    Map map = created_map(array_spec);
    {
        // Relative paths are resolved against the working directory, as the kernel does; the pin records
        // the absolute path it made.
        const WorkingDirectory in_bpffs(bpffs.path());
        const auto pinned = filter.pin("rel");
        INFO(message_of(pinned));
        REQUIRE(pinned.has_value());
        CHECK(filter.pinned_path() == std::optional<std::string_view>(bpffs / "rel"));
        CHECK(exists_here(bpffs / "rel"));
        CHECK(pinned_program_id("rel") == program_id(filter));
        CHECK(pinned_program_id("./rel") == program_id(filter));
        CHECK(pinned_program_id("elsewhere/../rel") == program_id(filter));

        REQUIRE(map.pin("maprel").has_value());
        CHECK(map.pinned_path() == std::optional<std::string_view>(bpffs / "maprel"));
        const auto reopened = Map::from_pin("./maprel");
        INFO(message_of(reopened));
        REQUIRE(reopened.has_value());
        CHECK(map_id(*reopened) == map_id(map));

        // An object's pin directory may be relative too: "." is the working directory.
        Object object = loaded_object("pinned_maps", {.pin_directory = "."});
        const auto counts = object.map("pinned_counts");
        REQUIRE(counts.has_value());
        CHECK(counts->get().pinned_path() == std::optional<std::string_view>(bpffs / "pinned_counts"));
        CHECK(exists_here(bpffs / "pinned_counts"));
    }
    {
        // Regression: unpin() after a chdir removes the pin it made, not the file the relative path now
        // names (a pin of another program in the new working directory, here).
        const WorkingDirectory moved(bpffs / "elsewhere");
        REQUIRE(other.pin("rel").has_value());
        REQUIRE(filter.unpin().has_value());
        CHECK_FALSE(exists_here(bpffs / "rel"));
        CHECK(exists_here(bpffs / "elsewhere/rel"));
        CHECK(pinned_program_id("rel") == program_id(other));
        REQUIRE(map.unpin().has_value());
        CHECK_FALSE(exists_here(bpffs / "maprel"));
        REQUIRE(other.unpin().has_value());
        CHECK_FALSE(exists_here(bpffs / "elsewhere/rel"));
    }
    {
        // A working directory that was removed: a relative path cannot be resolved, and says why.
        REQUIRE(mkdir((bpffs / "doomed").c_str(), 0700) == 0);
        const WorkingDirectory in_doomed(bpffs / "doomed");
        REQUIRE(rmdir((bpffs / "doomed").c_str()) == 0);
        check_refused(filter.pin("orphan"), ErrorKind::NotFound, ENOENT, {"getcwd", "orphan", "working directory was removed"});
        CHECK_FALSE(filter.pinned_path().has_value());
        const auto absolute = filter.pin(bpffs / "absolute");  // an absolute path needs no working directory
        INFO(message_of(absolute));
        CHECK(absolute.has_value());
    }
}

TEST_CASE("hostile path symbolic links") {
    REQUIRE_FEATURE(btf);
    TempBpffs bpffs;
    TempDir plain;
    SocketFilter filter = loaded("hostile_link", filters::pass);
    REQUIRE(filter.pin(bpffs / "target").has_value());
    Map map = created_map(array_spec);
    REQUIRE(map.pin(bpffs / "map").has_value());

    // A link to a pin (on another filesystem, or on the bpffs itself) opens the pin: BPF_OBJ_GET follows it.
    REQUIRE(symlink((bpffs / "target").c_str(), (plain / "to_prog").c_str()) == 0);
    REQUIRE(symlink("target", (bpffs / "relative_link").c_str()) == 0);
    REQUIRE(symlink((bpffs / "map").c_str(), (plain / "to_map").c_str()) == 0);
    CHECK(pinned_program_id(plain / "to_prog") == program_id(filter));
    CHECK(pinned_program_id(bpffs / "relative_link") == program_id(filter));
    const auto through = Map::from_pin(plain / "to_map");
    INFO(message_of(through));
    REQUIRE(through.has_value());
    CHECK(map_id(*through) == map_id(map));

    // Pinning at a link, dangling or not, is AlreadyExists: the kernel never follows the last component, and
    // the link is left alone.
    SocketFilter second = loaded("hostile_link2", filters::drop_all);
    REQUIRE(symlink((bpffs / "nowhere").c_str(), (bpffs / "dangling").c_str()) == 0);
    for (const std::string& at : {bpffs / "relative_link", bpffs / "dangling"}) {
        check_refused(second.pin(at), ErrorKind::AlreadyExists, EEXIST, {"symbolic link", at});
        CHECK_FALSE(second.pinned_path().has_value());
        CHECK(exists_here(at));
    }
    CHECK_FALSE(exists_here(bpffs / "nowhere"));

    // A link to a bpffs directory is followed like any directory: the pin lands in the bpffs, and unpin()
    // removes it through the same link.
    REQUIRE(symlink(bpffs.path().c_str(), (plain / "to_bpffs").c_str()) == 0);
    const auto via = second.pin(plain / "to_bpffs/via_link");
    INFO(message_of(via));
    REQUIRE(via.has_value());
    CHECK(exists_here(bpffs / "via_link"));
    CHECK(pinned_program_id(bpffs / "via_link") == program_id(second));
    REQUIRE(second.unpin().has_value());
    CHECK_FALSE(exists_here(bpffs / "via_link"));

    // An object's pin directory reached through a link.
    {
        Object object = loaded_object("pinned_maps", {.pin_directory = plain / "to_bpffs"});
        CHECK(exists_here(bpffs / "pinned_counts"));
    }

    // A loop of links: ELOOP, named in the hint.
    REQUIRE(symlink((plain / "loop_b").c_str(), (plain / "loop_a").c_str()) == 0);
    REQUIRE(symlink((plain / "loop_a").c_str(), (plain / "loop_b").c_str()) == 0);
    check_refused(SocketFilter::from_pin(plain / "loop_a"), ErrorKind::SyscallFailed, ELOOP, {"ELOOP", "loop"});
    check_refused(second.pin(plain / "loop_a/p"), ErrorKind::SyscallFailed, ELOOP, {"ELOOP", "loop"});
    CHECK_FALSE(second.pinned_path().has_value());
}

TEST_CASE("hostile path dot-dot components") {
    REQUIRE_FEATURE(object_ids);
    TempBpffs bpffs;
    REQUIRE(mkdir((bpffs / "sub").c_str(), 0700) == 0);
    SocketFilter filter = loaded("hostile_dots", filters::pass);

    // The kernel resolves `..` as any path lookup does; the pin is recorded as given.
    const std::string dotted = bpffs / "sub/../dotted";
    const auto pinned = filter.pin(dotted);
    INFO(message_of(pinned));
    REQUIRE(pinned.has_value());
    CHECK(filter.pinned_path() == std::optional<std::string_view>(dotted));
    CHECK(exists_here(bpffs / "dotted"));
    CHECK(pinned_program_id(bpffs / "sub/./../sub/../dotted") == program_id(filter));
    REQUIRE(filter.unpin().has_value());
    CHECK_FALSE(exists_here(bpffs / "dotted"));

    // `..` out of the bpffs lands on the filesystem below it: not a bpffs, so EPERM, and nothing is made.
    const std::string outside = bpffs / "../hostile_outside";
    check_refused(filter.pin(outside), ErrorKind::PermissionDenied, EPERM, {"BPF filesystem", outside});
    CHECK_FALSE(exists_here(outside));
    CHECK_FALSE(filter.pinned_path().has_value());
}

TEST_CASE("hostile path lengths") {
    REQUIRE_FEATURE(pins);
    TempBpffs bpffs;
    SocketFilter filter = loaded("hostile_long", filters::pass);
    Map map = created_map(array_spec);

    // PATH_MAX (4096 with its NUL) and longer: refused before any syscall, naming the length and the limit.
    for (const std::size_t length : {std::size_t{PATH_MAX}, std::size_t{PATH_MAX} + 1, std::size_t{3 * PATH_MAX}}) {
        std::string path = bpffs.path();
        while (path.size() < length) path += "/x";
        path.resize(length);
        const std::string words = std::to_string(length) + " bytes";
        check_refused(filter.pin(path), ErrorKind::InvalidArgument, 0, {words, "4095"});
        check_refused(SocketFilter::from_pin(path), ErrorKind::InvalidArgument, 0, {words, "4095"});
        check_refused(map.pin(path), ErrorKind::InvalidArgument, 0, {words, "4095"});
        check_refused(Map::from_pin(path), ErrorKind::InvalidArgument, 0, {words, "4095"});
        check_refused(ProgramInfo::from_pin(path), ErrorKind::InvalidArgument, 0, {words});
    }
    // 4095 bytes reach the kernel, which looks the path up: the directories do not exist.
    std::string longest = bpffs.path();
    while (longest.size() < PATH_MAX - 1) longest += "/x";
    longest.resize(PATH_MAX - 1);
    check_refused(filter.pin(longest), ErrorKind::NotFound, ENOENT, {});
    check_refused(SocketFilter::from_pin(longest), ErrorKind::NotFound, ENOENT, {});

    // A relative path that is short itself but over the limit once resolved against the working directory.
    {
        const WorkingDirectory in_bpffs(bpffs.path());
        std::string relative;
        while (relative.size() < PATH_MAX - 2) relative += "x/";
        relative += "p";
        REQUIRE(relative.size() < PATH_MAX);
        check_refused(filter.pin(relative), ErrorKind::InvalidArgument, 0, {"resolves to", "4095"});
        CHECK_FALSE(filter.pinned_path().has_value());
    }

    // NAME_MAX: a 255-byte file name pins and opens; 256 bytes is the kernel's ENAMETOOLONG, explained.
    const std::string longest_name = bpffs / std::string(NAME_MAX, 'n');
    const auto pinned = filter.pin(longest_name);
    INFO(message_of(pinned));
    REQUIRE(pinned.has_value());
    CHECK(pinned_program_id(longest_name) == program_id(filter));
    REQUIRE(filter.unpin().has_value());
    const std::string too_long_name = bpffs / std::string(NAME_MAX + 1, 'n');
    check_refused(filter.pin(too_long_name), ErrorKind::InvalidArgument, ENAMETOOLONG, {"ENAMETOOLONG", "NAME_MAX"});
    check_refused(SocketFilter::from_pin(too_long_name), ErrorKind::InvalidArgument, ENAMETOOLONG, {"NAME_MAX"});
    check_refused(map.pin(too_long_name), ErrorKind::InvalidArgument, ENAMETOOLONG, {"NAME_MAX"});
    check_refused(Map::from_pin(too_long_name), ErrorKind::InvalidArgument, ENAMETOOLONG, {"NAME_MAX"});
    CHECK_FALSE(filter.pinned_path().has_value());
    CHECK_FALSE(map.pinned_path().has_value());
}

TEST_CASE("hostile path NUL bytes for maps and objects") {
    REQUIRE_FEATURE(btf);
    TempBpffs bpffs;
    Map map = created_map(array_spec);
    const std::string with_nul = bpffs / std::string("m\0x", 3);
    check_refused(map.pin(with_nul), ErrorKind::InvalidArgument, 0, {"NUL"});
    CHECK_FALSE(exists_here(bpffs / "m"));
    check_refused(Map::from_pin(with_nul), ErrorKind::InvalidArgument, 0, {"NUL"});
    check_refused(ProgramInfo::from_pin(with_nul), ErrorKind::InvalidArgument, 0, {"NUL"});

    // The pin directory of an object: the load fails before creating any map, and pins nothing.
    Object object = opened_object("pinned_maps");
    const std::string directory = bpffs.path() + std::string("\0sub", 4);
    const int fds_before = open_fd_count();
    check_refused(object.load({.pin_directory = directory}), ErrorKind::InvalidArgument, 0, {"NUL", "pinned_counts"});
    CHECK(open_fd_count() == fds_before);
    CHECK_FALSE(exists_here(bpffs / "pinned_counts"));
}

TEST_CASE("hostile path directories and ordinary files") {
    REQUIRE_FEATURE(btf);
    TempBpffs bpffs;
    TempDir plain;
    REQUIRE(mkdir((bpffs / "dir").c_str(), 0700) == 0);
    const std::string file = plain / "file";
    {
        const int fd = open(file.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        REQUIRE(fd >= 0);
        close(fd);
    }
    SocketFilter filter = loaded("hostile_dir", filters::pass);
    REQUIRE(filter.pin(bpffs / "prog").has_value());
    const int fds_before = open_fd_count();

    // Opening a directory (on the bpffs or not) is EACCES from the kernel; the message says it is a directory.
    for (const std::string& directory : {bpffs / "dir", bpffs.path(), plain.path()}) {
        check_refused(SocketFilter::from_pin(directory), ErrorKind::PermissionDenied, EACCES, {"is a directory", directory});
        check_refused(Map::from_pin(directory), ErrorKind::PermissionDenied, EACCES, {"is a directory"});
    }
    // An ordinary file is not a pin: EACCES too, and the hint says what a pin is.
    check_refused(SocketFilter::from_pin(file), ErrorKind::PermissionDenied, EACCES, {"not a pinned BPF object", file});
    check_refused(Map::from_pin(file), ErrorKind::PermissionDenied, EACCES, {"not a pinned BPF object"});
    CHECK(open_fd_count() == fds_before);

    // Pinning over a directory or a file: AlreadyExists; below a file or a pin: ENOTDIR, explained.
    SocketFilter second = loaded("hostile_dir2", filters::drop_all);
    check_refused(second.pin(bpffs / "dir"), ErrorKind::AlreadyExists, EEXIST, {});
    check_refused(second.pin(bpffs / "dir/"), ErrorKind::AlreadyExists, EEXIST, {});
    check_refused(second.pin(file), ErrorKind::AlreadyExists, EEXIST, {});
    check_refused(second.pin(file + "/p"), ErrorKind::SyscallFailed, ENOTDIR, {"ENOTDIR", "not a directory"});
    check_refused(second.pin(bpffs / "prog/p"), ErrorKind::SyscallFailed, ENOTDIR, {"not a directory"});
    check_refused(SocketFilter::from_pin(bpffs / "prog/p"), ErrorKind::SyscallFailed, ENOTDIR, {"not a directory"});
    CHECK_FALSE(second.pinned_path().has_value());
    // A directory in the pin is created with the right name, nothing else: a trailing slash is a directory.
    check_refused(second.pin(bpffs / "newdir/"), ErrorKind::NotFound, ENOENT, {});
    CHECK_FALSE(exists_here(bpffs / "newdir"));

    // An object's pin directory that is an ordinary file, a directory off the bpffs, or missing: the load
    // fails naming the map, leaves no map and no pin behind.
    Object object = opened_object("pinned_pair");
    const int fds_before_loads = open_fd_count();
    check_refused(object.load({.pin_directory = file}), ErrorKind::SyscallFailed, ENOTDIR, {"pinned_first"});
    check_refused(object.load({.pin_directory = plain.path()}), ErrorKind::PermissionDenied, EPERM,
                  {"pinned_first", "BPF filesystem"});
    check_refused(object.load({.pin_directory = bpffs / "missing"}), ErrorKind::NotFound, ENOENT, {"pinned_first"});
    CHECK_FALSE(exists_here(plain / "pinned_first"));
    CHECK(open_fd_count() == fds_before_loads);
    CHECK_FALSE(object.map("pinned_first").has_value());
}

TEST_CASE("hostile path a program pinned where an object expects its map") {
    REQUIRE_FEATURE(btf);
    TempBpffs bpffs;
    SocketFilter filter = loaded("hostile_squat", filters::pass);
    REQUIRE(filter.pin(bpffs / "pinned_first").has_value());
    const std::uint32_t id = program_id(filter);
    const int fds_before = open_fd_count();

    Object object = opened_object("pinned_pair");
    check_refused(object.load({.pin_directory = bpffs.path()}), ErrorKind::UnexpectedMapType, 0,
                  {"a program (type 1) is pinned at", bpffs / "pinned_first", "not a map"});
    CHECK(open_fd_count() == fds_before);
    // The program's pin is left alone, and the load made no pin of its own.
    CHECK(pinned_program_id(bpffs / "pinned_first") == id);
    CHECK_FALSE(exists_here(bpffs / "pinned_second"));
}
